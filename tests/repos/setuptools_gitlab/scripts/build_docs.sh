#!/bin/sh
# Builds the API notes into public/ for GitLab Pages.
set -e
mkdir -p public
python -c "import imgclass, pydoc; pydoc.writedoc('imgclass')"
mv imgclass.html public/index.html

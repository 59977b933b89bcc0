"""Setup script of imgclass (setuptools, flat layout)."""

from setuptools import find_packages, setup

with open("requirements.txt") as handle:
    REQUIRED = [line.strip() for line in handle if line.strip() and not line.startswith("#")]

setup(
    name="imgclass",
    version="1.4.0",
    description="Tiny image classifier utilities (preprocessing and top-k metrics)",
    packages=find_packages(exclude=["tests", "tests.*"]),
    python_requires=">=3.9",
    install_requires=REQUIRED,
    entry_points={"console_scripts": ["imgclass-eval=imgclass.evaluate:main"]},
)

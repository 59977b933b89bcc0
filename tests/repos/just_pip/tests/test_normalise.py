from textnorm import normalise


def test_whitespace_collapses():
    assert normalise("  a   b \n c ") == "a b\nc"


def test_fullwidth_letters_become_ascii():
    assert normalise("\uff21\uff22") == "AB"

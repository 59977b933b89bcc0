from tokenstats.stats import tokens, top, type_token_ratio


def test_tokens_are_lowercase_words():
    assert tokens("The cat, the HAT.") == ["the", "cat", "the", "hat"]


def test_type_token_ratio():
    assert type_token_ratio("a a b b") == 0.5
    assert type_token_ratio("") == 0.0


def test_top():
    assert top("x y x z x y", n=2) == [("x", 3), ("y", 2)]

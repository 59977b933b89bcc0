from sentiment_lab import score


def test_positive_and_negative_words_add_up():
    assert score("Great phone, but slow.") == 1.5


def test_negation_flips_the_next_word():
    assert score("not good") == -1.0

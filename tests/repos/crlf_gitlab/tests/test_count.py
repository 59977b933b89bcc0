from wordcount.count import count_words


def test_counts_ignore_case():
    assert count_words("A a b") == {"a": 2, "b": 1}

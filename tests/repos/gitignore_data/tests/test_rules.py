from tabclean.rules import clean, drop_empty_id, strip_whitespace


def test_rules_apply_in_order():
    rows = [{"id": " 1 ", "name": " a"}, {"id": "  ", "name": "b"}]
    assert clean(rows, [strip_whitespace, drop_empty_id]) == [{"id": "1", "name": "a"}]

def test_import():
    import fraud  # noqa: F401

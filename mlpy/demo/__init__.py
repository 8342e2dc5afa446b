"""``mlpy demo``: the whole product on embedded defaults, on generated data, with no network."""

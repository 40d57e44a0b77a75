"""FlexUNet written directly in each framework: the raw references of `benchmarks.backends`.

Both take the settings and the weights of a built flexseg FlexUNet (`spec_of`, `weights_of`),
so the raw model computes the same function from the same initial weights; the tests check
that their predictions match flexseg's.
"""

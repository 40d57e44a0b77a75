"""What the architectures are built from: the base class, blocks, layers, setting checks and
`keras.applications` backbones."""

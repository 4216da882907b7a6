"""A stand-in for torch with only what the GPU scripts touch when they are
imported and parse their command line: enough to test, without torch or a
GPU, that they refuse bad arguments. Anything else is not here."""

bfloat16 = "torch.bfloat16"
float16 = "torch.float16"

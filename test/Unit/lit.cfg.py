# -*- Python -*-
# The GoogleTest unit tests (unittests/), run through lit.

import lit.formats

config.name = "RINGATTN-Unit"
config.suffixes = []
config.test_exec_root = config.ringattn_unittests_dir
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

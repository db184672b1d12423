# Fuzz harnesses of src/common (owned by the common module).
strait_fuzz(json fuzz_json.c strait_common)
strait_fuzz(split fuzz_split.c strait_common)
strait_fuzz(jcs fuzz_jcs.c strait_common)

# Fuzz harnesses of src/telemetry (owned by the telemetry module): one per
# input format.
strait_fuzz(zeek_json fuzz_zeek_json.c strait_telemetry)
strait_fuzz(zeek_tsv fuzz_zeek_tsv.c strait_telemetry)
strait_fuzz(eve fuzz_eve.c strait_telemetry)

/* Fuzzes the telemetry reader on Zeek logs as JSON lines. */
#include "fuzz_telemetry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_tel_read(TEL_FMT_ZEEK_JSON, data, size);
	return 0;
}

/* Fuzzes the telemetry reader on Suricata EVE JSON. */
#include "fuzz_telemetry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_tel_read(TEL_FMT_EVE, data, size);
	return 0;
}

/* strait: the binary. All logic lives in the module libraries. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}

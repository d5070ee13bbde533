/* svcdnsctl.c -- placeholder until the command-line client lands (work in progress). */
#include <stdio.h>
int main(void)
{
	fputs("svcdnsctl: not built yet\n", stderr);
	return 2;
}

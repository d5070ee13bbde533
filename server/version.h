/* version.h -- the release version, printed by --version. */
#ifndef SVCDNS_VERSION_H
#define SVCDNS_VERSION_H
#define SVCDNS_VERSION "0.1.0"
#endif

#include "core/isa.h"
#include "nexttok.h"

#define NT_STR2(x) #x
#define NT_STR(x) NT_STR2(x)

NEXTTOK_API const char *nexttok_version_string(void)
{
    return NT_STR(NEXTTOK_VERSION_MAJOR) "." NT_STR(NEXTTOK_VERSION_MINOR) "." NT_STR(NEXTTOK_VERSION_PATCH);
}

NEXTTOK_API unsigned nexttok_version_number(void) { return NEXTTOK_VERSION_NUMBER; }

NEXTTOK_API const char *nexttok_isa_name_get(void) { return nt_isa_name(nt_isa_active()); }

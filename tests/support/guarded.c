#include "guarded.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void *nt_guarded_alloc(size_t bytes, nt_guard *g)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (bytes + page - 1) / page;
    g->map_len = (data_pages + 1) * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) abort();
    unsigned char *guard = (unsigned char *)g->map + data_pages * page;
    if (mprotect(guard, page, PROT_NONE) != 0) abort();
    return guard - bytes;
}

void nt_guarded_free(nt_guard *g)
{
    munmap(g->map, g->map_len);
    g->map = NULL;
}

#include "progress.h"

#include <stdio.h>
#include <unistd.h>

void nt_cli_progress_start(nt_cli_progress *p, const char *what)
{
    p->what = what;
    p->on = isatty(STDERR_FILENO) == 1;
    p->shown = false;
}

void nt_cli_progress_update(nt_cli_progress *p, double fraction, const char *detail)
{
    if (!p->on) return;
    /* \r and erase-line redraw in place instead of scrolling. */
    fprintf(stderr, "\r\033[K%s: %d%%", p->what, (int)(100.0 * fraction));
    if (detail) fprintf(stderr, " (%s)", detail);
    fflush(stderr);
    p->shown = true;
}

void nt_cli_progress_end(nt_cli_progress *p)
{
    if (!p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
}

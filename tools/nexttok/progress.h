/*
 * A one-line progress report for long commands (perplexity, choice): shown
 * on stderr only when stderr is a terminal, so pipes, logs and the tests'
 * "exactly one error line" stay clean.
 */
#ifndef NT_CLI_PROGRESS_H
#define NT_CLI_PROGRESS_H

#include <stdbool.h>

typedef struct nt_cli_progress {
    const char *what; /* "perplexity", "choice" */
    bool on;          /* stderr is a terminal */
    bool shown;       /* something is on the line now */
} nt_cli_progress;

/* Start a report named `what`; it shows only on a terminal. */
void nt_cli_progress_start(nt_cli_progress *p, const char *what);

/* Redraw the line as "<what>: <percent>%", followed by " (<detail>)" when
 * detail is not NULL. */
void nt_cli_progress_update(nt_cli_progress *p, double fraction, const char *detail);

/* Clear the line, before results or an error are printed. */
void nt_cli_progress_end(nt_cli_progress *p);

#endif

/*
 * The nexttok subcommands. Each takes the arguments after its name
 * (argv[0] is the command name) and returns the process exit status; on
 * failure it has printed exactly one "nexttok: error: ..." line.
 */
#ifndef NT_CLI_COMMANDS_H
#define NT_CLI_COMMANDS_H

int nt_cli_inspect(int argc, char **argv);
int nt_cli_logits(int argc, char **argv);
int nt_cli_next(int argc, char **argv);
int nt_cli_generate(int argc, char **argv);
int nt_cli_bench(int argc, char **argv);
int nt_cli_tokenize(int argc, char **argv);
/* Evaluation: sliding-window perplexity and multiple-choice accuracy. */
int nt_cli_perplexity(int argc, char **argv);
int nt_cli_choice(int argc, char **argv);
/* Prediction as compression. */
int nt_cli_zip(int argc, char **argv);
int nt_cli_unzip(int argc, char **argv);

#endif

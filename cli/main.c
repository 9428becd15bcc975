/* rxledger: the command table and global options. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef RXLEDGER_VERSION
#define RXLEDGER_VERSION "0.1.0"
#endif

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"init", cmd_init, "create a ledger: the genesis entry signed by the site key"},
    {"key", cmd_key, "make, inspect, enroll, list and revoke keys"},
    {"note", cmd_note, "append a signed free-text note"},
    {"batch", cmd_batch, "append many entries from JSON lines, in transactions of many"},
    {"log", cmd_log, "list entries: seq, time, type, signer, meaning, summary"},
    {"show", cmd_show, "show one entry in full with its signature manifestation"},
    {"verify", cmd_verify, "verify the whole chain: encoding, links, signatures, signers"},
    {"setting", cmd_setting, "certify: record the REMS healthcare-setting certification"},
    {"registration", cmd_registration, "record the site's DEA registration"},
    {"patient", cmd_patient, "enroll: record REMS enrollment; forget: erase identifiers"},
    {"stock", cmd_stock, "receive, count, loss, report-loss, destroy"},
    {"session", cmd_session, "open: start a session; show: its timeline"},
    {"vitals", cmd_vitals, "record vital signs in a session"},
    {"dose", cmd_dose, "record a dose administered"},
    {"waste", cmd_waste, "record wasted drug, co-signed by a witness"},
    {"discharge", cmd_discharge, "the observer's sign-off; closes the session"},
    {"pmf", cmd_pmf, "record the REMS patient monitoring form as submitted"},
    {"amend", cmd_amend, "correct an entry by a new entry; the original stays"},
    {"inventory", cmd_inventory, "on hand per NDC and lot, from the ledger"},
    {"checkpoint", cmd_checkpoint, "sign the Merkle root and head with the site key; --list"},
    {"prove", cmd_prove, "an RFC 9942 receipt: entry SEQ is in the signed tree"},
    {"consistency", cmd_consistency, "an RFC 9942 receipt: the signed tree extends an older one"},
    {"verify-proof", cmd_verify_proof, "check a receipt offline with the site key fingerprint"},
    {"export", cmd_export, "write the regulator export: header, entries, signed checkpoint"},
    {"verify-export", cmd_verify_export, "check an export offline with the site key fingerprint"},
    {"audit", cmd_audit, "verify, then judge sessions, stock and clocks by the rules"},
    {"policy", cmd_policy, "check, show, list and adopt policy profiles"},
};

static void usage(FILE *f)
{
    fputs("usage: rxledger [-l DIR] <command> [options]\n\n"
          "A tamper-evident ledger for controlled-substance dispensing.\n\n"
          "options:\n"
          "  -l, --ledger DIR  ledger directory (default: $RXLEDGER_DIR)\n"
          "  -h, --help        show this help\n"
          "      --version     show the version\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit status: 0 ok, 1 error, 2 usage, 3 verification or audit findings\n"
          "'rxledger <command> --help' describes a command.\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"ledger", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cli_g.dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return RX_EXIT_OK;
        case 'V':
            printf("rxledger %s\n", RXLEDGER_VERSION);
            return RX_EXIT_OK;
        case ':':
            cli_err("option '%s' needs a value (see 'rxledger --help')", argv[optind - 1]);
            return RX_EXIT_USAGE;
        default:
            cli_err("unknown option '%s' (see 'rxledger --help')", argv[optind - 1]);
            return RX_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        /* an error is one line (docs/rxledger.1, EXIT STATUS); the usage is --help */
        cli_err("no command given (see 'rxledger --help')");
        return RX_EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* glibc: reinitialise getopt for the command */
            return commands[i].fn(sub_argc, sub_argv);
        }
    }
    cli_err("unknown command '%s' (see 'rxledger --help')", name);
    return RX_EXIT_USAGE;
}

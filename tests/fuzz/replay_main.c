/* Runs a harness's LLVMFuzzerTestOneInput over every file of the directories
 * (or the files) given, in name order: the committed corpus and crash
 * regressions as a test, without libFuzzer (gcc builds, `make test`). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1u << 20) /* corpus files are small; a bigger one is a mistake */

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = 1;
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    if ((buf = malloc(INPUT_MAX + 1)) == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        goto done;
    }
    n = fread(buf, 1, INPUT_MAX + 1, f);
    if (ferror(f) || n > INPUT_MAX) {
        fprintf(stderr, "replay: cannot read '%s' (or larger than %u bytes)\n", path, INPUT_MAX);
        goto done;
    }
    /* an exact-size copy, so that a read past the end is caught as it is under libFuzzer */
    uint8_t *exact = malloc(n != 0 ? n : 1);
    if (exact == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        goto done;
    }
    memcpy(exact, buf, n);
    (void)LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

static int run_path(const char *path, unsigned long *count)
{
    struct stat st;
    struct dirent **names = NULL;
    int n, rc = 0;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    if ((n = scandir(path, &names, NULL, alphasort)) < 0) {
        fprintf(stderr, "replay: cannot list '%s': %s\n", path, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char full[4096];
        struct stat fst;
        int w = snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && w > 0 && (size_t)w < sizeof(full) &&
            stat(full, &fst) == 0 && S_ISREG(fst.st_mode)) {
            (*count)++;
            rc |= run_file(full);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i], &count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    printf("replay: %lu inputs, %s\n", count, rc == 0 ? "no finding" : "errors");
    return rc != 0;
}

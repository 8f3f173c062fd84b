/* test_parity.c's own checks for the models named on the command line, one qemu process per
 * model (tests/neon.sh, tests/cross.sh): main() of test_parity.c runs every model in one. */
#define main test_parity_main
#include "test_parity.c"
#undef main
int main(int argc, char **argv) {
    require_fixtures();
    int fails = 0;
    for (int a = 1; a < argc; a++) {
        const model_case *mc = NULL;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if (!strcmp(cases[i].model, argv[a])) mc = &cases[i];
        if (mc) fails += check_model(mc);
        else printf("FAIL %s: test_parity.c has no such model\n", argv[a]), fails++;
    }
    printf("%s\n", fails ? "PARITY FAILED" : "parity ok");
    return fails ? 1 : 0;
}

/* libFuzzer target: the Netpbm PPM/PGM decoder (P2, P3, P5, P6), emoti_ppm_decode
 * (engine/media/image.h), which emoti_image_decode / emoti_image_load hand every file starting
 * with 'P'. (The dispatcher itself is run over all image corpora by tests/test_fuzz_corpus.c.)
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    emoti_image img = {-1, -1, NULL}; /* the decoder must reset it, also on failure */
    fuzz_clear_error();
    fuzz_check_image(emoti_ppm_decode(data, size, &img), &img);
    return 0;
}

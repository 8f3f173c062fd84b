/* libFuzzer target: the JPEG decoder, emoti_jpeg_decode (engine/media/jpeg.h).
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    emoti_image img = {-1, -1, NULL}; /* the decoder must reset it, also on failure */
    fuzz_clear_error();
    fuzz_check_image(emoti_jpeg_decode(data, size, &img), &img);
    return 0;
}

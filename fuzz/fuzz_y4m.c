/* libFuzzer target: the YUV4MPEG2 reader (engine/media/y4m.h) over an in-memory stream (fmemopen):
 * the stream header, then every frame to the end of the input.
 * Build and run: see fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "y4m.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy;
    FILE *f = fuzz_stream(data, size, &copy);
    if (!f) return 0;

    emoti_y4m *y = (emoti_y4m *)1;
    fuzz_clear_error();
    emoti_status st = emoti_y4m_open(f, "fuzz.y4m", &y);
    if (st != EMOTI_OK) {
        FUZZ_CHECK(y == NULL);
        FUZZ_CHECK(st == EMOTI_ERR_FORMAT || st == EMOTI_ERR_UNSUPPORTED ||
                   st == EMOTI_ERR_NOMEM);
        FUZZ_CHECK(emoti_last_error()[0] != '\0');
    } else {
        int num, den, done = 0;
        emoti_y4m_rate(y, &num, &den);
        size_t frame_bytes = emoti_y4m_frame_bytes(y);
        FUZZ_CHECK(frame_bytes >= 1);
        FUZZ_CHECK(emoti_y4m_frame_index(y) == -1);
        for (int i = 0; !done; i++) {
            emoti_image frame = {0, 0, NULL};
            fuzz_clear_error();
            st = emoti_y4m_next(y, &frame, &done);
            if (st != EMOTI_OK) {
                FUZZ_CHECK(st == EMOTI_ERR_FORMAT);
                FUZZ_CHECK(emoti_last_error()[0] != '\0');
                break;
            }
            if (done) break;
            /* Each frame holds its planes in the input, so the loop ends with the input. */
            FUZZ_CHECK((size_t)(i + 1) * frame_bytes <= size);
            FUZZ_CHECK(emoti_y4m_frame_index(y) == i);
            FUZZ_CHECK(frame.width >= 1 && frame.height >= 1 && frame.rgb != NULL);
            size_t n = (size_t)frame.width * (size_t)frame.height * 3;
            uint32_t sum = 0;
            for (size_t k = 0; k < n; k++) sum += frame.rgb[k]; /* owned by the reader */
            fuzz_sink += sum;
        }
        emoti_y4m_close(y);
    }
    fclose(f);
    free(copy);
    return 0;
}

/* YUV4MPEG2 (.y4m) video reader: a file or a pipe, frame by frame, in constant memory.
 * The public functions (emoti_y4m_open, ...) are declared in emoti.h; these are for the rest
 * of the library and the tests. */
#ifndef EMOTI_Y4M_H
#define EMOTI_Y4M_H

#include <stdio.h>

#include "emoti.h"

/* emoti_y4m_open, with input standing for the stream in the ffmpeg command that the message
 * of an unsupported input suggests (name is the file name the other messages use). */
emoti_status emoti_y4m_open_as(FILE *f, const char *name, const char *input,
                               uint64_t max_pixels, emoti_y4m **out);
int emoti_y4m_full_range(const emoti_y4m *y); /* 1: XCOLORRANGE=FULL */
long emoti_y4m_header_bytes(const emoti_y4m *y); /* the stream header, newline included */

#endif

/* YUV4MPEG2 (.y4m) video reader: a file or a pipe, frame by frame, in constant memory. */
#ifndef EMOTI_Y4M_H
#define EMOTI_Y4M_H

#include <stdio.h>

#include "emoti.h"

typedef struct emoti_y4m emoti_y4m;

/* Reads the stream header from f (not closed by emoti_y4m_close). name is used in messages.
 * Another container or a deeper Y4M is EMOTI_ERR_UNSUPPORTED, its message ending with the
 * ffmpeg command that converts it to an 8-bit Y4M stream on stdout. */
emoti_status emoti_y4m_open(FILE *f, const char *name, emoti_y4m **out);
/* emoti_y4m_open, with input standing for the stream in that ffmpeg command. */
emoti_status emoti_y4m_open_as(FILE *f, const char *name, const char *input, emoti_y4m **out);
/* Decodes the next frame into frame->rgb (owned by the reader, valid until the next call).
 * Sets *done = 1 at a clean end of stream. A truncated frame or bad frame header is an error
 * whose message names the frame index (from 0). */
emoti_status emoti_y4m_next(emoti_y4m *y, emoti_image *frame, int *done);
int emoti_y4m_frame_index(const emoti_y4m *y); /* index of the frame last returned */
void emoti_y4m_rate(const emoti_y4m *y, int *num, int *den); /* frame rate, 0/0 if unknown */
size_t emoti_y4m_frame_bytes(const emoti_y4m *y); /* plane bytes per frame (for progress) */
int emoti_y4m_full_range(const emoti_y4m *y); /* 1: XCOLORRANGE=FULL */
long emoti_y4m_header_bytes(const emoti_y4m *y); /* the stream header, newline included */
void emoti_y4m_close(emoti_y4m *y);

#endif

/* Input files (emoti.h emoti_file_open), and the descriptor form behind the model's mmap. */
#ifndef EMOTI_INFILE_H
#define EMOTI_INFILE_H

#include "emoti.h"

/* emoti_file_open's checks on a raw descriptor (for mmap): the open fd in *fd, its size. */
emoti_status emoti_file_fd(const char *path, size_t max, int *fd, size_t *size);

/* Maps a whole non-empty file read-only (the model and the detector): munmap(*map, *size). */
emoti_status emoti_file_map(const char *path, void **map, size_t *size);

#endif

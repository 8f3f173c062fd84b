/* The SVG plot of a timeline (emoti.h). Long videos stay small: the VA lines keep
 * at most the lowest and highest value of each pixel column, and the timelines draw one rect
 * per run of equal value, a pixel column showing its frames' majority when there are more
 * frames than pixels (the gap row: any gap). Text is escaped, so the file is always
 * well-formed XML. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

enum { SVG_W = 1000, LEFT = 100, RIGHT = 24, PLOT_W = SVG_W - LEFT - RIGHT, VA_H = 200,
       BAND_H = 28, AU_ROW = 14, GAP_ROW = 8, LEGEND_W = 108, LEGEND_ROW = 18 };

/* Expression classes by index (Aff-Wild2 order: Neutral grey, Anger red, Disgust green, ...). */
static const char *const PALETTE[] = {"#9e9e9e", "#d62728", "#2ca02c", "#9467bd", "#ffbf00",
                                      "#1f77b4", "#17becf", "#e377c2", "#8c564b", "#bcbd22"};
#define N_PALETTE (sizeof PALETTE / sizeof *PALETTE)
static const char *const VA_NAME[2] = {"valence", "arousal"};
static const char *const VA_COLOUR[2] = {"#1f77b4", "#d62728"};

/* ---- per-frame data ---- */

static int grow(emoti_plot *p) {
    size_t cap = p->cap ? 2 * p->cap : 1024;
    if (p->has_va) {
        float *q = realloc(p->va, cap * 2 * sizeof *q);
        if (!q) return 0;
        p->va = q;
    }
    if (p->n_classes) {
        unsigned char *q = realloc(p->cls, cap);
        if (!q) return 0;
        p->cls = q;
    }
    if (p->n_aus) {
        uint64_t *q = realloc(p->aus, cap * sizeof *q);
        if (!q) return 0;
        p->aus = q;
    }
    unsigned char *q = realloc(p->filled, cap);
    if (!q) return 0;
    p->filled = q;
    p->cap = cap;
    return 1;
}

emoti_status emoti_plot_add(emoti_plot *p, const double *va, int cls, const int *aus, int filled) {
    if (p->n == p->cap && !grow(p)) return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    size_t i = p->n++;
    if (p->has_va) p->va[2 * i] = (float)va[0], p->va[2 * i + 1] = (float)va[1];
    if (p->n_classes) p->cls[i] = (unsigned char)cls;
    if (p->n_aus) {
        p->aus[i] = 0;
        for (int c = 0; c < p->n_aus; c++) p->aus[i] |= (uint64_t)(aus[c] != 0) << c;
    }
    p->filled[i] = (unsigned char)(filled != 0);
    return EMOTI_OK;
}

void emoti_plot_free(emoti_plot *p) {
    free(p->va), free(p->cls), free(p->aus), free(p->filled);
    p->va = NULL, p->cls = NULL, p->aus = NULL, p->filled = NULL;
    p->n = p->cap = 0;
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at s (2 to 4), or 1 for ASCII and invalid bytes. */
static size_t utf8_len(const unsigned char *s) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : lo; /* overlong */
        hi = c == 0xED ? 0x9F : hi; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 1;
    }
    if (s[1] < lo || s[1] > hi) return 1;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 1;
    if (c == 0xEF && s[1] == 0xBF && s[2] >= 0xBE) return 1; /* U+FFFE, U+FFFF: not XML */
    return n;
}

/* Character data: markup escaped; control characters and bytes that are not UTF-8 (a file
 * name may hold any) become '?'. */
static void xml_text(FILE *f, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        size_t len = utf8_len(u);
        if (len > 1) {
            fwrite(u, 1, len, f);
            u += len;
            continue;
        }
        unsigned char ch = *u++;
        if (ch == '&') fputs("&amp;", f);
        else if (ch == '<') fputs("&lt;", f);
        else if (ch == '>') fputs("&gt;", f);
        else if (ch == '"') fputs("&quot;", f);
        else if ((ch < 0x20 && ch != '\t') || ch >= 0x80) fputc('?', f);
        else fputc(ch, f);
    }
}

static void text(FILE *f, double x, double y, const char *attrs, const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"%s>", x, y, attrs);
    xml_text(f, s);
    fputs("</text>\n", f);
}

/* ---- geometry ---- */

typedef struct {
    double va_top, band_top, legend_top, au_top, gap_top, axis_top, height;
} layout;

static int legend_per_row(void) { return PLOT_W / LEGEND_W; }

static layout plan(const emoti_plot *p, int any_filled) {
    layout L = {0, 0, 0, 0, 0, 0, 0};
    double y = 56;
    if (p->has_va) L.va_top = y + 16, y = L.va_top + VA_H + 18;
    if (p->n_classes) {
        int rows = (p->n_classes + legend_per_row() - 1) / legend_per_row();
        L.band_top = y, L.legend_top = y + BAND_H + 8;
        y = L.legend_top + rows * LEGEND_ROW + 8;
    }
    if (p->n_aus) L.au_top = y, y += p->n_aus * AU_ROW + 8;
    if (any_filled) L.gap_top = y, y += GAP_ROW + 8;
    L.axis_top = y, L.height = y + 44;
    return L;
}

/* x of the left edge of frame f (f = n: the right end). */
static double frame_x(const emoti_plot *p, double f) { return LEFT + f * PLOT_W / (double)p->n; }

/* Timelines and lines work on units: frames, or pixel columns when frames outnumber them. */
static size_t n_units(const emoti_plot *p) { return p->n <= PLOT_W ? p->n : PLOT_W; }
static size_t unit_start(const emoti_plot *p, size_t u) { return u * p->n / n_units(p); }

/* ---- timelines ---- */

typedef int (*frame_value)(const emoti_plot *p, size_t frame, int arg);
static int class_of(const emoti_plot *p, size_t f, int arg) { return (void)arg, p->cls[f]; }
static int au_of(const emoti_plot *p, size_t f, int arg) { return (int)(p->aus[f] >> arg & 1); }
static int filled_of(const emoti_plot *p, size_t f, int arg) { return (void)arg, p->filled[f]; }

/* What one timeline draws: the value of a frame, how many values there are, the value drawn as
 * nothing, the value that wins a pixel column as soon as one of its frames has it (else the
 * majority does; -1: none), the colour (NULL: the class palette). */
typedef struct {
    frame_value get;
    int arg, n_values, skip, any;
    const char *colour;
} track;

/* The value of frames [a, b): t->any if one has it, else the majority (ties: the smallest). */
static int unit_value(const emoti_plot *p, size_t a, size_t b, const track *t) {
    if (b - a == 1) return t->get(p, a, t->arg);
    size_t count[EMOTI_PLOT_MAX_CLASSES] = {0};
    for (size_t f = a; f < b; f++) count[t->get(p, f, t->arg)]++;
    if (t->any >= 0 && count[t->any]) return t->any;
    int best = 0;
    for (int v = 1; v < t->n_values; v++) best = count[v] > count[best] ? v : best;
    return best;
}

/* One rect per run of units of equal value. */
static void timeline(FILE *f, const emoti_plot *p, double y, double h, const track *t) {
    size_t nu = n_units(p), start = 0;
    int cur = unit_value(p, 0, unit_start(p, 1), t);
    for (size_t u = 1; u <= nu; u++) {
        int v = u < nu ? unit_value(p, unit_start(p, u), unit_start(p, u + 1), t) : -1;
        if (v == cur) continue;
        if (cur != t->skip) {
            double x0 = frame_x(p, (double)unit_start(p, start)), x1 = frame_x(p, (double)unit_start(p, u));
            fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n", x0, y,
                    x1 - x0, h, t->colour ? t->colour : PALETTE[(size_t)cur % N_PALETTE]);
        }
        start = u, cur = v;
    }
}

/* ---- panels ---- */

static double va_y(const layout *L, float v) {
    v = v < -1 ? -1 : v > 1 ? 1 : v;
    return L->va_top + (1 - v) / 2 * VA_H;
}

static void point(FILE *f, const emoti_plot *p, const layout *L, double frame, float v, int *first) {
    fprintf(f, "%s%.1f,%.1f", *first ? "" : " ", frame_x(p, frame), va_y(L, v));
    *first = 0;
}

/* Every frame, or per pixel column its lowest and highest value in the order they occur. */
static void va_line(FILE *f, const emoti_plot *p, const layout *L, int which) {
    fprintf(f, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
            VA_NAME[which], VA_COLOUR[which]);
    int first = 1;
    if (p->n <= 2 * PLOT_W) {
        for (size_t i = 0; i < p->n; i++) point(f, p, L, (double)i + 0.5, p->va[2 * i + (size_t)which], &first);
    } else {
        for (size_t u = 0; u < n_units(p); u++) {
            size_t a = unit_start(p, u), b = unit_start(p, u + 1), lo = a, hi = a;
            for (size_t i = a; i < b; i++) {
                lo = p->va[2 * i + (size_t)which] < p->va[2 * lo + (size_t)which] ? i : lo;
                hi = p->va[2 * i + (size_t)which] > p->va[2 * hi + (size_t)which] ? i : hi;
            }
            double x = (double)(a + b) / 2;
            point(f, p, L, x, p->va[2 * (lo < hi ? lo : hi) + (size_t)which], &first);
            if (lo != hi) point(f, p, L, x, p->va[2 * (lo < hi ? hi : lo) + (size_t)which], &first);
        }
    }
    fputs("\"/>\n", f);
}

static void va_panel(FILE *f, const emoti_plot *p, const layout *L) {
    fputs("<g id=\"va\">\n", f);
    for (int g = 0; g <= 4; g++) {
        double v = 1 - g * 0.5, y = va_y(L, (float)v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, y,
                LEFT + PLOT_W, y, v == 0 ? "#999" : "#e6e6e6");
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", LEFT - 6, y + 4, v);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
            LEFT, L->va_top, PLOT_W, VA_H);
    double mid = L->va_top + VA_H / 2.0;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\" text-anchor=\"middle\">"
            "valence, arousal</text>\n", 40.0, mid, 40.0, mid);
    for (int w = 0; w < 2; w++) {
        double x = LEFT + 90.0 * w, y = L->va_top - 8;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                x, y - 4, x + 18, y - 4, VA_COLOUR[w]);
        text(f, x + 22, y, "", VA_NAME[w]);
    }
    va_line(f, p, L, 0);
    va_line(f, p, L, 1);
    fputs("</g>\n", f);
}

static void expression_panel(FILE *f, const emoti_plot *p, const layout *L) {
    fputs("<g id=\"expression\">\n", f);
    text(f, LEFT - 6, L->band_top + BAND_H / 2.0 + 4, " text-anchor=\"end\"", "expression");
    fputs("<g id=\"expression-band\">\n", f);
    const track classes = {class_of, 0, p->n_classes, -2, -1, NULL};
    timeline(f, p, L->band_top, BAND_H, &classes);
    fputs("</g>\n<g id=\"expression-legend\">\n", f);
    for (int c = 0; c < p->n_classes; c++) {
        double x = LEFT + (c % legend_per_row()) * LEGEND_W, y = L->legend_top + (c / legend_per_row()) * LEGEND_ROW;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y,
                PALETTE[(size_t)c % N_PALETTE]);
        text(f, x + 16, y + 10, "", p->class_labels[c]);
    }
    fputs("</g>\n</g>\n", f);
}

static void au_panel(FILE *f, const emoti_plot *p, const layout *L) {
    fputs("<g id=\"au\">\n", f);
    for (int c = 0; c < p->n_aus; c++) {
        double y = L->au_top + c * AU_ROW;
        fputs("<g class=\"au-row\">\n", f);
        text(f, LEFT - 6, y + 10, " text-anchor=\"end\"", p->au_labels[c]);
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#f2f2f2\"/>\n", LEFT, y,
                PLOT_W, AU_ROW - 2);
        const track active = {au_of, c, 2, 0, -1, "#444444"};
        timeline(f, p, y, AU_ROW - 2, &active);
        fputs("</g>\n", f);
    }
    fputs("</g>\n", f);
}

static void gap_panel(FILE *f, const emoti_plot *p, const layout *L) {
    fputs("<g id=\"gaps\">\n", f);
    text(f, LEFT - 6, L->gap_top + GAP_ROW, " text-anchor=\"end\"", "no frame (filled)");
    const track gaps = {filled_of, 0, 2, 0, 1, "#bbbbbb"}; /* a single gap stays visible */
    timeline(f, p, L->gap_top, GAP_ROW, &gaps);
    fputs("</g>\n", f);
}

/* 1, 2 or 5 times a power of ten: about 8 ticks. */
static size_t tick_step(size_t n) {
    double raw = (double)n / 8;
    if (raw <= 1) return 1;
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 3; i++)
        if (mult[i] * mag >= raw) return (size_t)(mult[i] * mag);
    return (size_t)(10 * mag);
}

/* 1, 2 or 5 times a power of ten (fractions too): the step of about 8 ticks over span. */
static double nice_step(double span) {
    double raw = span / 8, mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 5};
    for (int i = 0; i < 3; i++)
        if (mult[i] * mag >= raw) return mult[i] * mag;
    return 10 * mag;
}

static void tick(FILE *f, const layout *L, double top, double x, const char *label) {
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#ececec\"/>\n", x, top, x,
            L->axis_top);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x, L->axis_top,
            x, L->axis_top + 5);
    fprintf(f, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, L->axis_top + 17, label);
}

/* Grid lines through every panel, then the axis: ticks at the frames' centres, numbered by
 * frame, or by second (frame index / fps) when the rate is known. */
static void frame_axis(FILE *f, const emoti_plot *p, const layout *L, double top) {
    char label[32];
    fprintf(f, "<g id=\"%s\">\n", p->fps > 0 ? "time-axis" : "frame-axis");
    if (p->fps > 0) {
        double step = nice_step(p->n / p->fps);
        for (long i = 0; i * step * p->fps < (double)p->n; i++) {
            snprintf(label, sizeof label, "%g", i * step);
            tick(f, L, top, frame_x(p, i * step * p->fps + 0.5), label);
        }
    } else {
        size_t step = tick_step(p->n);
        for (size_t t = 0; t < p->n; t += step) {
            snprintf(label, sizeof label, "%zu", t);
            tick(f, L, top, frame_x(p, (double)t + 0.5), label);
        }
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n", LEFT, L->axis_top,
            LEFT + PLOT_W, L->axis_top);
    text(f, LEFT + PLOT_W / 2.0, L->axis_top + 35, " text-anchor=\"middle\"", p->fps > 0 ? "time (s)" : "frame");
    fputs("</g>\n", f);
}

static void draw(FILE *f, const emoti_plot *p) {
    int any_filled = 0;
    for (size_t i = 0; i < p->n && !any_filled; i++) any_filled = p->filled[i];
    layout L = plan(p, any_filled);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\" "
            "font-size=\"11\">\n<title>", SVG_W, L.height, SVG_W, L.height);
    xml_text(f, p->title);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
    text(f, LEFT, 22, " font-size=\"15\" font-weight=\"bold\"", p->title);
    text(f, LEFT, 40, " fill=\"#555\"", p->subtitle);
    if (p->n) {
        frame_axis(f, p, &L, p->has_va ? L.va_top : p->n_classes ? L.band_top : L.au_top);
        if (p->has_va) va_panel(f, p, &L);
        if (p->n_classes) expression_panel(f, p, &L);
        if (p->n_aus) au_panel(f, p, &L);
        if (any_filled) gap_panel(f, p, &L);
    }
    fputs("</svg>\n", f);
}

/* ---- the file ---- */

emoti_status emoti_plot_write(const char *path, const emoti_plot *p) {
    emoti_outfile o;
    emoti_status st = emoti_outfile_open(&o, path);
    if (st) return st;
    draw(o.f, p);
    return emoti_outfile_commit(&o);
}

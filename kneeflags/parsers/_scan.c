/* kneeflags.parsers._scan: the optional C accelerator of the vectorised XML scan.
 *
 * Why: the numpy scan (xml_scan.py) proves and reads a machine-written <trkseg> or <Track>
 * body with a few dozen whole-array passes, ~9 ms per 1.2 MB Garmin GPX; one pass in C
 * over the same bytes is a fraction of that. The meaning is not decided here: Python builds
 * each point *template* exactly as the numpy path does (its tags, which text is a value and
 * of which kind) and hands it over as a list of operations; this module only walks the body
 * against those templates, proving every byte, and converts the values.
 *
 * Contract (see SECURITY.md, "The C accelerator"):
 *   match_points(data, lo, hi, templates[, stop]) ->
 *       ("ok", shape_of_each_point: bytes, values: list[bytes], end)   every point matched
 *                                        (up to ``stop``, a closing tag, if given: end is
 *                                        where it starts; otherwise end is hi)
 *       ("template", pos)                the point at pos matches no template: build one
 *       ("decline", reason)              cannot prove the body: use the numpy path
 *   templates: list of tuples of operations (code, literal: bytes, column: int);
 *   values[t]: float64 row-major (points of template t x its columns).
 *
 * Every read is bounds-checked against hi (which is checked against the buffer); nothing is
 * recursive; the only allocations grow with the number of points read (each point consumes
 * at least one byte of its literal tags, so they are bounded by the body size).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* No fused multiply-adds (setup.py passes -ffp-contract=off to GCC/Clang, which ignore
 * the standard pragma): the error bound of the decimal conversion assumes each operation
 * rounds on its own. */
#if !defined(__GNUC__)
#pragma STDC FP_CONTRACT OFF
#endif

enum {
    OP_LIT = 0,       /* these bytes exactly */
    OP_WS = 1,        /* zero or more of space, tab, CR, LF (literal: the usual gap, a hint) */
    OP_NUM_TEXT = 2,  /* a plain decimal up to the next '<' -> column */
    OP_NUM_ATTR = 3,  /* a plain decimal up to the next '"' -> column */
    OP_TIME_TEXT = 4, /* a plain UTC time up to the next '<' -> column (microseconds) */
    OP_TEXT = 5,      /* any text up to the next '<' (no '&', '>', control bytes but WS) */
    OP_WS_LIT = 6,    /* OP_WS then OP_LIT in one: literal = the usual gap (its length in
                       * the column field) + the tag; compared at once when the gap is the
                       * usual one (machine-written indentation), else as the two */
};

#define MAX_OPS 512
#define MAX_COLS 64
#define MAX_TEMPLATES 8
#define MAX_VALUE 48 /* xml_scan.MAX_VALUE_BYTES */

typedef struct {
    int code;
    const unsigned char *lit;
    Py_ssize_t len;
    int col;
} Op;

typedef struct {
    Op ops[MAX_OPS];
    Py_ssize_t nops;
    int ncols;
    double *vals;
    Py_ssize_t count, cap; /* rows */
} Tpl;

static const char *decline_reason;

static inline int is_ws(unsigned char c) { return c == 32 || c == 9 || c == 10 || c == 13; }

/* -- decimals ---------------------------------------------------------------------------- */

static const double POW10_D[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static long double POW10_LD[49];
static int extended_ok;

static void init_pow10(void) {
    POW10_LD[0] = 1.0L;
    for (int i = 1; i < 28; i++) POW10_LD[i] = POW10_LD[i - 1] * 10.0L; /* exact: 5**27 < 2**64 */
    for (int i = 28; i < 49; i++) POW10_LD[i] = POW10_LD[27] * POW10_LD[i - 27];
    extended_ok = LDBL_MANT_DIG >= 64;
}

/* float(text) of ``[+-]?digits[.digits]`` (at least one digit), exactly; 0 when the text is
 * not such a decimal. The same grammar as xml_scan.is_decimal / parse_decimals. */
static int parse_decimal(const unsigned char *s, Py_ssize_t len, double *out) {
    if (len < 1 || len > MAX_VALUE) return 0;
    Py_ssize_t i = 0;
    int negative = 0;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        i = 1;
    }
    /* one pass: the first 19 significant digits (leading zeros change no value) in high,
     * the next 19 in low */
    uint64_t high = 0, low = 0;
    int nd = 0, sig = 0, n_frac = 0, seen_dot = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d <= 9) {
            nd++;
            n_frac += seen_dot;
            if (sig == 0 && d == 0) continue;
            sig++;
            if (sig <= 19)
                high = high * 10u + d;
            else if (sig <= 38)
                low = low * 10u + d;
        } else if (s[i] == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            return 0;
        }
    }
    if (nd < 1) return 0;
    double v;
    if (sig <= 19 && n_frac <= 22 && high <= (UINT64_C(1) << 53)) {
        /* Clinger's fast path: two exact doubles, one correctly rounded division */
        v = (double)high / POW10_D[n_frac];
        *out = negative ? -v : v;
        return 1;
    }
    if (extended_ok && sig <= 38 && n_frac <= 48) {
        int n_low = sig > 19 ? sig - 19 : 0;
        long double x = (long double)high;
        if (n_low) x = x * POW10_LD[n_low] + (long double)low;
        x = x / POW10_LD[n_frac];
        /* within ~4 extended ulps of the true value; round to double unless that value lies
         * within 16 extended ulps of a midpoint between two doubles (xml_scan._MARGIN_ULPS) */
        double near = (double)x;
        if (isfinite(near) && near > 0.0 && x > 0.0L) {
            /* the neighbouring double on x's side of near (positive, finite: one step of
             * its bit pattern; no libm call) */
            uint64_t bits;
            memcpy(&bits, &near, sizeof bits);
            bits = x > (long double)near ? bits + 1 : bits - 1;
            double toward;
            memcpy(&toward, &bits, sizeof toward);
            long double mid = ((long double)near + (long double)toward) / 2.0L;
            /* x * 2**-63 is at least one extended ulp of x (64-bit significand): a bound
             * without a libm call, on the safe side */
            long double ulp = x * 0x1p-63L;
            long double gap = x - mid;
            if (gap < 0) gap = -gap;
            if (gap > 16.0L * ulp) {
                *out = negative ? -near : near;
                return 1;
            }
        }
    }
    /* the slow, always exact way: Python's own float() */
    char text[MAX_VALUE + 1];
    memcpy(text, s, (size_t)len);
    text[len] = 0;
    char *end = NULL;
    v = PyOS_string_to_double(text, &end, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (end != text + len) return 0;
    *out = v;
    return 1;
}

/* -- times ------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static const int TIME_DIGITS[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};

/* ``YYYY-MM-DDThh:mm:ss[.f{1,6}]Z`` -> microseconds as gpxpy computes them
 * (trunc(us / 1e6 * 1e6), as xml_scan.parse_utc_times); 0 if not such a time or an
 * impossible date (which numpy's datetime64 refuses there too). */
static int parse_time(const unsigned char *s, Py_ssize_t len, double *out) {
    if (!(len == 20 || (len >= 22 && len <= 27))) return 0;
    for (int k = 0; k < 14; k++)
        if (s[TIME_DIGITS[k]] < '0' || s[TIME_DIGITS[k]] > '9') return 0;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return 0;
    if (s[len - 1] != 'Z') return 0;
    int64_t micros = 0;
    if (len > 20) {
        if (s[19] != '.') return 0;
        int64_t w = 100000;
        for (Py_ssize_t k = 20; k < len - 1; k++, w /= 10) {
            if (s[k] < '0' || s[k] > '9') return 0;
            micros += (s[k] - '0') * w;
        }
    }
#define D(k) ((int64_t)(s[k] - '0'))
    int64_t year = D(0) * 1000 + D(1) * 100 + D(2) * 10 + D(3);
    int64_t month = D(5) * 10 + D(6), day = D(8) * 10 + D(9);
    int64_t hour = D(11) * 10 + D(12), minute = D(14) * 10 + D(15), second = D(17) * 10 + D(18);
#undef D
    if (year < 1 || hour > 23 || minute > 59 || second > 59) return 0;
    if (month < 1 || month > 12 || day < 1) return 0;
    static const int DIM[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > DIM[month - 1] + (month == 2 && leap)) return 0;
    int64_t secs = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 +
                   minute * 60 + second;
    int64_t exact = secs * 1000000 + micros;
    *out = trunc(((double)exact / 1e6) * 1e6);
    return 1;
}

/* -- matching ---------------------------------------------------------------------------- */

enum { MATCHED = 0, MISMATCH = 1, DECLINE = 2 };

/* One point at *pos against one template: MATCHED (pos advanced, row filled), MISMATCH
 * (a literal differs: another template may fit) or DECLINE (decline_reason set). */
static int match_one(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t hi, const Tpl *t,
                     double *row) {
    Py_ssize_t p = *pos;
    for (Py_ssize_t i = 0; i < t->nops; i++) {
        const Op *op = &t->ops[i];
        switch (op->code) {
        case OP_LIT:
            if (op->len > hi - p || d[p] != op->lit[0] ||
                memcmp(d + p, op->lit, (size_t)op->len) != 0)
                return MISMATCH;
            p += op->len;
            break;
        case OP_WS:
            /* the template's own gap first (machine-written indentation repeats): one
             * comparison instead of a loop over the bytes; then any further whitespace */
            if (op->len && op->len <= hi - p && memcmp(d + p, op->lit, (size_t)op->len) == 0)
                p += op->len;
            while (p < hi && is_ws(d[p])) p++;
            break;
        case OP_WS_LIT: {
            if (op->len <= hi - p && d[p] == op->lit[0] &&
                memcmp(d + p, op->lit, (size_t)op->len) == 0) {
                p += op->len;
                break;
            }
            while (p < hi && is_ws(d[p])) p++;
            const unsigned char *tag = op->lit + op->col;
            Py_ssize_t n = op->len - op->col;
            if (n > hi - p || d[p] != tag[0] || memcmp(d + p, tag, (size_t)n) != 0)
                return MISMATCH;
            p += n;
            break;
        }
        case OP_NUM_TEXT:
        case OP_NUM_ATTR:
        case OP_TIME_TEXT: {
            unsigned char stop = op->code == OP_NUM_ATTR ? '"' : '<';
            Py_ssize_t q = p, limit = hi - p > MAX_VALUE + 1 ? p + MAX_VALUE + 1 : hi;
            while (q < limit && d[q] != stop) q++;
            if (q >= limit) {
                decline_reason = "a value that is too long or unterminated";
                return DECLINE;
            }
            int ok = op->code == OP_TIME_TEXT ? parse_time(d + p, q - p, &row[op->col])
                                               : parse_decimal(d + p, q - p, &row[op->col]);
            if (!ok) {
                decline_reason = op->code == OP_TIME_TEXT
                                     ? "a time that is not a plain UTC time"
                                     : "a value that is not a plain decimal";
                return DECLINE;
            }
            p = q;
            break;
        }
        case OP_TEXT:
            while (p < hi && d[p] != '<') {
                unsigned char c = d[p];
                if (c == '&' || c == '>' || c >= 127 || (c < 32 && !is_ws(c))) {
                    decline_reason = "a byte the scan does not read in a point's text";
                    return DECLINE;
                }
                p++;
            }
            break;
        default:
            decline_reason = "an unknown template operation";
            return DECLINE;
        }
    }
    *pos = p;
    return MATCHED;
}

static int parse_templates(PyObject *list, Tpl *tpls, Py_ssize_t *n) {
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "templates must be a list");
        return -1;
    }
    *n = PyList_GET_SIZE(list);
    if (*n < 1 || *n > MAX_TEMPLATES) {
        PyErr_SetString(PyExc_ValueError, "between 1 and 8 templates");
        return -1;
    }
    for (Py_ssize_t t = 0; t < *n; t++) {
        PyObject *ops = PyList_GET_ITEM(list, t);
        if (!PyTuple_Check(ops) || PyTuple_GET_SIZE(ops) > MAX_OPS) {
            PyErr_SetString(PyExc_ValueError, "a template is a tuple of at most 512 operations");
            return -1;
        }
        Tpl *tp = &tpls[t];
        tp->nops = PyTuple_GET_SIZE(ops);
        tp->ncols = 0;
        for (Py_ssize_t i = 0; i < tp->nops; i++) {
            PyObject *op = PyTuple_GET_ITEM(ops, i);
            int code, col;
            const char *lit;
            Py_ssize_t len;
            if (!PyTuple_Check(op)) {
                PyErr_SetString(PyExc_ValueError, "a template operation is not a tuple");
                return -1;
            }
            if (!PyArg_ParseTuple(op, "iy#i", &code, &lit, &len, &col))
                return -1;
            if (code < OP_LIT || code > OP_WS_LIT || col < 0 ||
                (code != OP_WS_LIT && col >= MAX_COLS) ||
                (code == OP_LIT && len < 1) || (code == OP_WS_LIT && col >= len)) {
                PyErr_SetString(PyExc_ValueError, "a malformed template operation");
                return -1;
            }
            Py_ssize_t gap = code == OP_WS ? len : code == OP_WS_LIT ? col : 0;
            for (Py_ssize_t k = 0; k < gap; k++) {
                if (!is_ws((unsigned char)lit[k])) { /* a gap hint proves whitespace only */
                    PyErr_SetString(PyExc_ValueError, "a whitespace hint that is not whitespace");
                    return -1;
                }
            }
            if (code >= OP_NUM_TEXT && code <= OP_TIME_TEXT && col + 1 > tp->ncols)
                tp->ncols = col + 1;
            tp->ops[i].code = code;
            tp->ops[i].lit = (const unsigned char *)lit; /* owned by the list, held by the caller */
            tp->ops[i].len = len;
            tp->ops[i].col = col;
        }
        /* a template must consume at least one byte, so every point advances */
        int has_lit = 0;
        for (Py_ssize_t i = 0; i < tp->nops; i++)
            has_lit |= tp->ops[i].code == OP_LIT || tp->ops[i].code == OP_WS_LIT;
        if (!has_lit) {
            PyErr_SetString(PyExc_ValueError, "a template without literal bytes");
            return -1;
        }
    }
    return 0;
}

static int push_row(Tpl *t, const double *row) {
    if (t->count == t->cap) {
        Py_ssize_t cap = t->cap ? t->cap * 2 : 1024;
        if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(double) / (t->ncols ? t->ncols : 1))
            return -1;
        double *v = PyMem_Realloc(t->vals, (size_t)cap * sizeof(double) * (size_t)(t->ncols ? t->ncols : 1));
        if (!v) return -1;
        t->vals = v;
        t->cap = cap;
    }
    if (t->ncols) memcpy(t->vals + t->count * t->ncols, row, sizeof(double) * (size_t)t->ncols);
    t->count++;
    return 0;
}

static PyObject *match_points(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t lo, hi;
    PyObject *templates;
    (void)self;
    const char *stop = NULL;
    Py_ssize_t stop_len = 0;
    if (!PyArg_ParseTuple(args, "y*nnO!|y#", &buf, &lo, &hi, &PyList_Type, &templates, &stop,
                          &stop_len))
        return NULL;
    Py_ssize_t end = -1;
    PyObject *result = NULL;
    unsigned char *shape = NULL;
    Py_ssize_t n = 0, shape_cap = 0, ntpl = 0;
    Tpl *tpls = PyMem_Calloc(MAX_TEMPLATES, sizeof(Tpl));
    if (!tpls) {
        PyErr_NoMemory();
        goto done;
    }
    if (lo < 0 || hi < lo || hi > buf.len) {
        PyErr_SetString(PyExc_ValueError, "lo/hi outside the buffer");
        goto done;
    }
    if (parse_templates(templates, tpls, &ntpl) < 0) goto done;
    const unsigned char *d = buf.buf;
    double row[MAX_COLS];
    Py_ssize_t pos = lo, gap_from = lo, gap_len = 0;
    while (pos < hi && is_ws(d[pos])) pos++;
    while (pos < hi) {
        if (stop_len && hi - pos >= stop_len && memcmp(d + pos, stop, (size_t)stop_len) == 0) {
            end = pos; /* the body's closing tag: the walk ends here */
            break;
        }
        if (d[pos] != '<') {
            result = Py_BuildValue("(ss)", "decline", "text other than whitespace between the points");
            goto done;
        }
        Py_ssize_t t, at = pos;
        int r = MISMATCH;
        for (t = 0; t < ntpl; t++) {
            at = pos;
            for (int c = 0; c < tpls[t].ncols; c++) row[c] = NAN;
            r = match_one(d, &at, hi, &tpls[t], row);
            if (r != MISMATCH) break;
        }
        if (r == DECLINE) {
            result = Py_BuildValue("(ss)", "decline", decline_reason);
            goto done;
        }
        if (r == MISMATCH) {
            result = Py_BuildValue("(sn)", "template", pos);
            goto done;
        }
        if (n == shape_cap) {
            Py_ssize_t cap = shape_cap ? shape_cap * 2 : 4096;
            unsigned char *s = PyMem_Realloc(shape, (size_t)cap);
            if (!s) {
                PyErr_NoMemory();
                goto done;
            }
            shape = s;
            shape_cap = cap;
        }
        shape[n++] = (unsigned char)t;
        if (push_row(&tpls[t], row) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        pos = at;
        /* the gap to the next point: first as the previous gap's bytes (whitespace, proved
         * when first met), else byte by byte */
        Py_ssize_t g0 = pos;
        if (gap_len && gap_len <= hi - pos && memcmp(d + pos, d + gap_from, (size_t)gap_len) == 0) {
            pos += gap_len;
        } else {
            while (pos < hi && is_ws(d[pos])) pos++;
            gap_from = g0;
            gap_len = pos - g0;
        }
        while (pos < hi && is_ws(d[pos])) pos++;
    }
    if (stop_len && end < 0) {
        result = Py_BuildValue("(ss)", "decline", "a body without its closing tag");
        goto done;
    }
    if (!stop_len) end = pos;
    {
        PyObject *values = PyList_New(ntpl);
        if (!values) goto done;
        for (Py_ssize_t t = 0; t < ntpl; t++) {
            PyObject *b = PyBytes_FromStringAndSize(
                (const char *)tpls[t].vals,
                tpls[t].count * tpls[t].ncols * (Py_ssize_t)sizeof(double));
            if (!b) {
                Py_DECREF(values);
                goto done;
            }
            PyList_SET_ITEM(values, t, b);
        }
        PyObject *shapes = PyBytes_FromStringAndSize((const char *)shape, n);
        if (!shapes) {
            Py_DECREF(values);
            goto done;
        }
        result = Py_BuildValue("(sNNn)", "ok", shapes, values, end);
    }
done:
    if (tpls)
        for (Py_ssize_t t = 0; t < MAX_TEMPLATES; t++) PyMem_Free(tpls[t].vals);
    PyMem_Free(tpls);
    PyMem_Free(shape);
    PyBuffer_Release(&buf);
    return result;
}

static PyObject *py_parse_decimal(PyObject *self, PyObject *arg) {
    (void)self;
    char *s;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(arg, &s, &len) < 0) return NULL;
    double v;
    if (!parse_decimal((const unsigned char *)s, len, &v)) Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

static PyObject *py_parse_time(PyObject *self, PyObject *arg) {
    (void)self;
    char *s;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(arg, &s, &len) < 0) return NULL;
    double v;
    if (!parse_time((const unsigned char *)s, len, &v)) Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

/* FIT CRC-16 (reflected polynomial 0xA001, initial value 0): the CRC-16/ARC of the FIT SDK.
 *
 * Why here: the numpy CRC (fit_crc.py) gathers every 16-bit word through a 65536-entry
 * table (128 KiB), ~0.3 ms per 100 kB one-hour file on a quiet core and several times that
 * when another process shares the core's cache; it was a third of the FIT decode. Slicing
 * by 8 (eight 256-entry tables, 4 KiB) reads 8 bytes a step and stays in L1.
 * crc16(data[, state]) -> int: ``state`` continues an earlier CRC (0 to start). */
static uint16_t crc16_tab[8][256];

static void init_crc16(void) {
    for (int b = 0; b < 256; b++) {
        uint16_t c = (uint16_t)b;
        for (int k = 0; k < 8; k++) c = (uint16_t)((c & 1) ? (c >> 1) ^ 0xA001 : (c >> 1));
        crc16_tab[0][b] = c;
    }
    for (int b = 0; b < 256; b++)
        for (int t = 1; t < 8; t++) {
            uint16_t c = crc16_tab[t - 1][b];
            crc16_tab[t][b] = (uint16_t)((c >> 8) ^ crc16_tab[0][c & 0xFF]);
        }
}

static uint16_t crc16_update(uint16_t crc, const unsigned char *p, Py_ssize_t n) {
    while (n >= 8) {
        uint16_t lo = (uint16_t)(crc ^ (uint16_t)(p[0] | (p[1] << 8)));
        crc = (uint16_t)(crc16_tab[7][lo & 0xFF] ^ crc16_tab[6][lo >> 8] ^ crc16_tab[5][p[2]] ^
                         crc16_tab[4][p[3]] ^ crc16_tab[3][p[4]] ^ crc16_tab[2][p[5]] ^
                         crc16_tab[1][p[6]] ^ crc16_tab[0][p[7]]);
        p += 8;
        n -= 8;
    }
    while (n-- > 0) crc = (uint16_t)((crc >> 8) ^ crc16_tab[0][(crc ^ *p++) & 0xFF]);
    return crc;
}

static PyObject *py_crc16(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer buf;
    unsigned int state = 0;
    if (!PyArg_ParseTuple(args, "y*|I", &buf, &state)) return NULL;
    uint16_t crc;
    Py_BEGIN_ALLOW_THREADS
    crc = crc16_update((uint16_t)state, (const unsigned char *)buf.buf, buf.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return PyLong_FromUnsignedLong(crc);
}

static PyMethodDef methods[] = {
    {"match_points", match_points, METH_VARARGS,
     "Walk a segment body against point templates (see the module source)."},
    {"parse_decimal", py_parse_decimal, METH_O,
     "float() of a plain decimal as bytes, or None (tests)."},
    {"parse_time", py_parse_time, METH_O,
     "Microseconds of a plain UTC time as bytes, or None (tests)."},
    {"crc16", py_crc16, METH_VARARGS,
     "FIT CRC-16 of a bytes-like object, optionally continuing a state."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "C accelerator of kneeflags.parsers.xml_scan.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    init_pow10();
    init_crc16();
    return PyModule_Create(&module);
}

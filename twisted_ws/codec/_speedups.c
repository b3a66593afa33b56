/*
 * Compiled helpers for twisted_ws.codec:
 *
 * - mask(): XOR a payload with a 4-byte masking key repeated (RFC 6455
 *   section 5.3), for twisted_ws.codec._mask;
 * - utf8(): check that bytes are UTF-8 (RFC 3629) without decoding them,
 *   piece by piece, for twisted_ws.codec._utf8;
 * - PayloadBuffer: the payload of one large frame, unmasked piece by piece
 *   as it arrives straight into the bytes object that is then delivered,
 *   for twisted_ws.codec._hybi.
 *
 * The module is optional.  Both callers fall back to pure Python when it
 * has not been built.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <string.h>

/* Inputs at least this long are masked with the GIL released. */
#define RELEASE_GIL_AT (64 * 1024)

/*
 * XOR n bytes of src with key (4 bytes, repeated from key[0]) into dst.
 * src and dst may be the same buffer but must not otherwise overlap.
 */
static void
xorMask(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
        const unsigned char key[4])
{
    uint32_t key32;
    uint64_t key64, word;
    Py_ssize_t i = 0;

    /*
     * A 64-bit word holding the key twice, in memory order, so that XORing
     * it with 8 bytes loaded from the payload (in the same byte order, by
     * memcpy) masks them whatever the machine's endianness.
     */
    memcpy(&key32, key, 4);
    memcpy(&key64, &key32, 4);
    memcpy((unsigned char *)&key64 + 4, &key32, 4);

    for (; i + 32 <= n; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= key64;
        b ^= key64;
        c ^= key64;
        d ^= key64;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&word, src + i, 8);
        word ^= key64;
        memcpy(dst + i, &word, 8);
    }
    /* i is a multiple of 8 here, so the key is back at its first byte. */
    for (; i < n; i++) {
        dst[i] = src[i] ^ key[i & 3];
    }
}

PyDoc_STRVAR(mask_doc,
"mask(data, key[, prefix]) -> bytes\n\n"
"XOR data (any object supporting the buffer protocol) with the 4-byte\n"
"masking key, repeated.  Masking and unmasking are the same operation.\n"
"With prefix (bytes), the result is prefix followed by the masked data,\n"
"made in one allocation: a masked frame's header and key, then its\n"
"payload, without a second copy of the payload to join them.");

static PyObject *
speedups_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, key;
    PyObject *result = NULL, *copy = NULL;
    unsigned char keyBytes[4];
    const char *prefix = NULL;
    Py_ssize_t prefixLength = 0;
    unsigned char *out;

    (void)module;
    if (nargs != 2 && nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "mask() takes 2 or 3 arguments (%zd given)", nargs);
        return NULL;
    }
    if (nargs == 3) {
        if (!PyBytes_Check(args[2])) {
            PyErr_Format(PyExc_TypeError,
                         "mask() prefix must be bytes, not %.100s",
                         Py_TYPE(args[2])->tp_name);
            return NULL;
        }
        prefix = PyBytes_AS_STRING(args[2]);
        prefixLength = PyBytes_GET_SIZE(args[2]);
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) {
        /*
         * A buffer that is not one contiguous run of bytes (a strided
         * memoryview, say) is masked through a contiguous copy, as the
         * pure-Python routine would.
         */
        if (!PyErr_ExceptionMatches(PyExc_BufferError)) {
            return NULL;
        }
        PyErr_Clear();
        copy = PyBytes_FromObject(args[0]);
        if (copy == NULL) {
            return NULL;
        }
        if (PyObject_GetBuffer(copy, &data, PyBUF_SIMPLE) < 0) {
            Py_DECREF(copy);
            return NULL;
        }
    }
    if (PyObject_GetBuffer(args[1], &key, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        Py_XDECREF(copy);
        return NULL;
    }
    if (key.len != 4) {
        PyErr_Format(PyExc_ValueError,
                     "masking key must be 4 bytes long, not %zd", key.len);
        goto done;
    }
    memcpy(keyBytes, key.buf, 4);

    if (data.len > PY_SSIZE_T_MAX - prefixLength) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, prefixLength + data.len);
    if (result == NULL) {
        goto done;
    }
    out = (unsigned char *)PyBytes_AS_STRING(result);
    if (prefixLength) {
        memcpy(out, prefix, prefixLength);
    }
    out += prefixLength;
    if (data.len >= RELEASE_GIL_AT) {
        /*
         * The new bytes object is not yet visible to any other thread, and
         * the exported buffer keeps the input alive and, for a bytearray,
         * unresizable while the GIL is released.
         */
        unsigned char *dst = out;
        const unsigned char *src = (const unsigned char *)data.buf;
        Py_ssize_t n = data.len;
        Py_BEGIN_ALLOW_THREADS
        xorMask(dst, src, n, keyBytes);
        Py_END_ALLOW_THREADS
    }
    else {
        xorMask(out, (const unsigned char *)data.buf, data.len, keyBytes);
    }

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    Py_XDECREF(copy);
    return result;
}

/*
 * PayloadBuffer(length): a bytes object of length bytes, filled in order by
 * feed(data, key) and handed out whole by take().  It is never visible to
 * Python code before it is full, so filling it in place is safe.
 */

typedef struct {
    PyObject_HEAD
    PyObject *payload;      /* the bytes being filled; NULL once taken */
    Py_ssize_t filled;
} PayloadBufferObject;

static PyObject *
PayloadBuffer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t length;
    PayloadBufferObject *self;

    if (kwargs != NULL && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "PayloadBuffer() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "n:PayloadBuffer", &length)) {
        return NULL;
    }
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "PayloadBuffer length must not be negative");
        return NULL;
    }
    self = (PayloadBufferObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->payload = PyBytes_FromStringAndSize(NULL, length);
    if (self->payload == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->filled = 0;
    return (PyObject *)self;
}

static void
PayloadBuffer_dealloc(PayloadBufferObject *self)
{
    PyTypeObject *type = Py_TYPE(self);

    Py_CLEAR(self->payload);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

PyDoc_STRVAR(feed_doc,
"feed(data, key) -> None\n\n"
"Append data, XORed with the 4-byte masking key (repeated from where the\n"
"payload has reached), or as it is when key is empty.");

static PyObject *
PayloadBuffer_feed(PayloadBufferObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, key;
    unsigned char *dst;
    unsigned char rotated[4];
    Py_ssize_t room, k;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "feed() takes exactly 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (self->payload == NULL) {
        PyErr_SetString(PyExc_ValueError, "the payload was taken already");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &key, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    room = PyBytes_GET_SIZE(self->payload) - self->filled;
    if (data.len > room) {
        PyErr_Format(PyExc_ValueError,
                     "%zd bytes fed with room for %zd", data.len, room);
        goto error;
    }
    if (key.len != 0 && key.len != 4) {
        PyErr_Format(PyExc_ValueError,
                     "masking key must be 4 bytes long (or empty), not %zd", key.len);
        goto error;
    }
    dst = (unsigned char *)PyBytes_AS_STRING(self->payload) + self->filled;
    if (key.len == 0) {
        memcpy(dst, data.buf, data.len);
    }
    else {
        for (k = 0; k < 4; k++) {
            rotated[k] = ((const unsigned char *)key.buf)[(self->filled + k) & 3];
        }
        if (data.len >= RELEASE_GIL_AT) {
            /* The payload is private to this object, see above. */
            const unsigned char *src = (const unsigned char *)data.buf;
            Py_ssize_t n = data.len;
            Py_BEGIN_ALLOW_THREADS
            xorMask(dst, src, n, rotated);
            Py_END_ALLOW_THREADS
        }
        else {
            xorMask(dst, (const unsigned char *)data.buf, data.len, rotated);
        }
    }
    self->filled += data.len;
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;

error:
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    return NULL;
}

PyDoc_STRVAR(take_doc,
"take() -> bytes\n\n"
"The payload, once every byte of it was fed; only once.");

static PyObject *
PayloadBuffer_take(PayloadBufferObject *self, PyObject *unused)
{
    PyObject *payload = self->payload;

    (void)unused;
    if (payload == NULL) {
        PyErr_SetString(PyExc_ValueError, "the payload was taken already");
        return NULL;
    }
    if (self->filled != PyBytes_GET_SIZE(payload)) {
        PyErr_Format(PyExc_ValueError, "only %zd of %zd bytes were fed",
                     self->filled, PyBytes_GET_SIZE(payload));
        return NULL;
    }
    self->payload = NULL;
    return payload;
}

static PyObject *
PayloadBuffer_remaining(PayloadBufferObject *self, void *closure)
{
    (void)closure;
    if (self->payload == NULL) {
        return PyLong_FromSsize_t(0);
    }
    return PyLong_FromSsize_t(PyBytes_GET_SIZE(self->payload) - self->filled);
}

static PyMethodDef PayloadBuffer_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))PayloadBuffer_feed, METH_FASTCALL, feed_doc},
    {"take", (PyCFunction)PayloadBuffer_take, METH_NOARGS, take_doc},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef PayloadBuffer_getset[] = {
    {"remaining", (getter)PayloadBuffer_remaining, NULL,
     "How many bytes are still to be fed.", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

PyDoc_STRVAR(PayloadBuffer_doc,
"PayloadBuffer(length)\n\n"
"The payload of one frame of length bytes, filled in order by feed() and\n"
"handed out by take() once full.");

static PyType_Slot PayloadBuffer_slots[] = {
    {Py_tp_new, PayloadBuffer_new},
    {Py_tp_dealloc, PayloadBuffer_dealloc},
    {Py_tp_methods, PayloadBuffer_methods},
    {Py_tp_getset, PayloadBuffer_getset},
    {Py_tp_doc, (void *)PayloadBuffer_doc},
    {0, NULL}
};

static PyType_Spec PayloadBuffer_spec = {
    "twisted_ws.codec._speedups.PayloadBuffer",
    sizeof(PayloadBufferObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    PayloadBuffer_slots
};

static int
speedupsExec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &PayloadBuffer_spec, NULL);
    int result;

    if (type == NULL) {
        return -1;
    }
    result = PyModule_AddObjectRef(module, "PayloadBuffer", type);
    Py_DECREF(type);
    return result;
}

/*
 * UTF-8 validation.
 *
 * The state between two pieces of one message is 0 at a character
 * boundary, or else packs what the next bytes must be: the number of
 * continuation bytes still due (bits 16 and up) and the inclusive range
 * allowed for the next one (bits 8-15 and 0-7).  The first continuation
 * byte of some lead bytes has a narrower range: that is how overlong forms
 * (E0, F0), encoded surrogates (ED) and code points above U+10FFFF (F4) are
 * refused on the byte where they become certain.
 */

#define ASCII_MASK 0x8080808080808080ULL
/* Texts at least this long are checked by blocks, where that is available. */
#define SIMD_MIN 64
#define IS_CONT(b) (((b) & 0xC0) == 0x80)

/*
 * Per lead byte: the length of its sequence (0 where it cannot lead), and
 * the range of its first continuation byte, narrower after E0 (no
 * overlong forms), ED (no surrogates), F0 (no overlong forms) and F4 (no
 * code point above U+10FFFF).
 */
static unsigned char seqLength[256];
static unsigned char firstLow[256];
static unsigned char firstHigh[256];

static void
fillTables(void)
{
    int c;

    for (c = 0; c < 256; c++) {
        seqLength[c] = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
        firstLow[c] = 0x80;
        firstHigh[c] = 0xBF;
    }
    firstLow[0xE0] = 0xA0;
    firstHigh[0xED] = 0x9F;
    firstLow[0xF0] = 0x90;
    firstHigh[0xF4] = 0x8F;
}

/* Bytes from s[i] that are ASCII, at most up to n. */
static Py_ssize_t
skipAscii(const unsigned char *s, Py_ssize_t i, Py_ssize_t n)
{
    uint64_t word;

    while (i + 8 <= n) {
        memcpy(&word, s + i, 8);
        word &= ASCII_MASK;
        if (word) {
#if PY_LITTLE_ENDIAN && (defined(__GNUC__) || defined(__clang__))
            return i + (__builtin_ctzll(word) >> 3);
#else
            break;
#endif
        }
        i += 8;
    }
    while (i < n && s[i] < 0x80) {
        i++;
    }
    return i;
}


/*
 * Vectorised check of long texts (x86 with SSSE3, chosen at run time).
 *
 * Sixteen bytes at a time, every byte is judged from three nibbles: the
 * high and low nibbles of the byte before it and its own high nibble.
 * Each nibble is looked up in a 16-entry table of the error kinds it is
 * compatible with, and a byte is in error when one kind is in all three
 * answers.  Continuation bytes that must follow a continuation (the third
 * byte of a 3-byte sequence, the third and fourth of a 4-byte one) are
 * known from the bytes two and three places back; one bit of the lookup
 * marks "continuation after continuation", and the two must agree.
 */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_SIMD_UTF8 1
#include <immintrin.h>

/* Error kinds: one bit each. */
#define E_TOO_SHORT 0x01    /* a lead byte without its continuation */
#define E_TOO_LONG 0x02     /* a continuation byte after ASCII */
#define E_OVERLONG_3 0x04   /* E0 80-9F */
#define E_TOO_LARGE 0x08    /* F4 90-BF, or F5-FF followed by 90-BF */
#define E_SURROGATE 0x10    /* ED A0-BF */
#define E_OVERLONG_2 0x20   /* C0 or C1 */
#define E_BIT6 0x40         /* F0 80-8F (overlong), or F5-FF followed by 80-8F */
#define E_TWO_CONTS 0x80    /* a continuation after a continuation: not an
                               error by itself, checked separately */
#define E_CARRY (E_TOO_SHORT | E_TOO_LONG | E_TWO_CONTS)

static int haveSsse3 = 0;

__attribute__((target("ssse3")))
static Py_ssize_t
utf8Blocks(const unsigned char *s, Py_ssize_t n, int *valid)
{
    const __m128i byte1High = _mm_setr_epi8(
        E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG,
        E_TOO_LONG, E_TOO_LONG, E_TOO_LONG, E_TOO_LONG,
        (char)E_TWO_CONTS, (char)E_TWO_CONTS, (char)E_TWO_CONTS, (char)E_TWO_CONTS,
        E_TOO_SHORT | E_OVERLONG_2,
        E_TOO_SHORT,
        E_TOO_SHORT | E_OVERLONG_3 | E_SURROGATE,
        E_TOO_SHORT | E_TOO_LARGE | E_BIT6);
    const __m128i byte1Low = _mm_setr_epi8(
        (char)(E_CARRY | E_OVERLONG_3 | E_OVERLONG_2 | E_BIT6),
        (char)(E_CARRY | E_OVERLONG_2),
        (char)E_CARRY, (char)E_CARRY,
        (char)(E_CARRY | E_TOO_LARGE),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6), (char)(E_CARRY | E_TOO_LARGE | E_BIT6),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6), (char)(E_CARRY | E_TOO_LARGE | E_BIT6),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6), (char)(E_CARRY | E_TOO_LARGE | E_BIT6),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6), (char)(E_CARRY | E_TOO_LARGE | E_BIT6),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6 | E_SURROGATE),
        (char)(E_CARRY | E_TOO_LARGE | E_BIT6), (char)(E_CARRY | E_TOO_LARGE | E_BIT6));
    const __m128i byte2High = _mm_setr_epi8(
        E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
        E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT,
        (char)(E_TOO_LONG | E_OVERLONG_2 | E_TWO_CONTS | E_OVERLONG_3 | E_BIT6),
        (char)(E_TOO_LONG | E_OVERLONG_2 | E_TWO_CONTS | E_OVERLONG_3 | E_TOO_LARGE),
        (char)(E_TOO_LONG | E_OVERLONG_2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE),
        (char)(E_TOO_LONG | E_OVERLONG_2 | E_TWO_CONTS | E_SURROGATE | E_TOO_LARGE),
        E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT, E_TOO_SHORT);
    /* Bytes above these, in the last three places, need bytes after them. */
    const __m128i lastMax = _mm_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        (char)0xEF, (char)0xDF, (char)0xBF);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m128i zero = _mm_setzero_si128();
    __m128i prev = zero, incomplete = zero, error = zero;
    Py_ssize_t i = 0;

    for (; i + 16 <= n; i += 16) {
        __m128i in = _mm_loadu_si128((const __m128i *)(s + i));
        if (_mm_movemask_epi8(in) == 0) {
            /* All ASCII: only a sequence cut by the previous block fails. */
            error = _mm_or_si128(error, incomplete);
            incomplete = zero;
            prev = in;
            continue;
        }
        {
            __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
            __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
            __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
            __m128i kinds = _mm_and_si128(
                _mm_and_si128(
                    _mm_shuffle_epi8(byte1High, _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble)),
                    _mm_shuffle_epi8(byte1Low, _mm_and_si128(prev1, nibble))),
                _mm_shuffle_epi8(byte2High, _mm_and_si128(_mm_srli_epi16(in, 4), nibble)));
            __m128i mustFollow = _mm_or_si128(
                _mm_subs_epu8(prev2, _mm_set1_epi8((char)0xDF)),
                _mm_subs_epu8(prev3, _mm_set1_epi8((char)0xEF)));
            __m128i must80 = _mm_andnot_si128(
                _mm_cmpeq_epi8(mustFollow, zero), _mm_set1_epi8((char)0x80));
            error = _mm_or_si128(error, _mm_xor_si128(kinds, must80));
            incomplete = _mm_subs_epu8(in, lastMax);
            prev = in;
        }
    }
    *valid = _mm_movemask_epi8(_mm_cmpeq_epi8(error, zero)) == 0xFFFF;
    /*
     * The blocks end at i; a character whose lead byte is among their last
     * three bytes may go on past it: the caller checks it again, whole.
     * Every byte from C0 up counts as a lead here, the invalid ones (C0,
     * C1, F5-FF) included, which is why seqLength (0 for those) is not
     * used: the blocks cannot judge such a byte on their last place, only
     * the scalar check with the bytes after it can.
     */
    {
        Py_ssize_t k;
        for (k = 1; k <= 3 && k <= i; k++) {
            unsigned int c = s[i - k];
            if (c >= 0xC0) {
                if ((Py_ssize_t)(c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2) > k) {
                    return i - k;
                }
                break;
            }
            if (c < 0x80) {
                break;
            }
        }
    }
    return i;
}
#endif

static long
utf8Check(const unsigned char *s, Py_ssize_t n, long state)
{
    Py_ssize_t i = 0;
    unsigned int need = (unsigned int)(state >> 16);
    unsigned int lo = (unsigned int)(state >> 8) & 0xFF;
    unsigned int hi = (unsigned int)state & 0xFF;
    unsigned int c, c1, length, ok;
#ifdef HAVE_SIMD_UTF8
    int vectorised = 0;
#endif

    for (;;) {
        /*
         * Continuation bytes of a character that a piece boundary cut:
         * its lead byte came at the end of the previous piece, or comes at
         * the end of this one.
         */
        while (need) {
            if (i >= n) {
                return (long)((need << 16) | (lo << 8) | hi);
            }
            if (s[i] < lo || s[i] > hi) {
                return -1;
            }
            i++;
            need--;
            lo = 0x80;
            hi = 0xBF;
        }
#ifdef HAVE_SIMD_UTF8
        if (!vectorised && haveSsse3 && n - i >= SIMD_MIN) {
            int valid;
            vectorised = 1;
            i += utf8Blocks(s + i, n - i, &valid);
            if (!valid) {
                return -1;
            }
        }
#endif
        /*
         * Whole characters.  While four bytes are left, a character is
         * checked without branching on its length, so that text mixing
         * sequences of every length costs no more than text of one kind.
         */
        for (;;) {
            if (i + 4 > n) {
                break;
            }
            c = s[i];
            if (c < 0x80) {
                i = skipAscii(s, i + 1, n);
                continue;
            }
            length = 2 + (c >= 0xE0) + (c >= 0xF0);
            c1 = s[i + 1];
            ok = (seqLength[c] != 0) & (c1 >= firstLow[c]) & (c1 <= firstHigh[c]);
            ok &= (length < 3) | IS_CONT(s[i + 2]);
            ok &= (length < 4) | IS_CONT(s[i + 3]);
            if (!ok) {
                return -1;
            }
            i += length;
        }
        /* The last few bytes. */
        while (i < n) {
            c = s[i];
            length = seqLength[c];
            if (length == 0) {
                return -1;
            }
            if (length == 1) {
                i++;
                continue;
            }
            if (i + length > n) {
                break;
            }
            c1 = s[i + 1];
            if (c1 < firstLow[c] || c1 > firstHigh[c]) {
                return -1;
            }
            if ((length > 2 && !IS_CONT(s[i + 2])) || (length > 3 && !IS_CONT(s[i + 3]))) {
                return -1;
            }
            i += length;
        }
        if (i >= n) {
            return 0;
        }
        /* A character that the end of the piece cuts. */
        c = s[i++];
        need = seqLength[c] - 1;
        lo = firstLow[c];
        hi = firstHigh[c];
    }
}

PyDoc_STRVAR(utf8_doc,
"utf8(data, state=0) -> int\\n\\n"
"Check the next piece of a UTF-8 text.  state is 0 for the first piece,\\n"
"then what the previous call returned.  Returns -1 as soon as the bytes\\n"
"cannot be UTF-8, 0 when they end on a character boundary, or a positive\\n"
"state when they end inside a character.");

static PyObject *
speedups_utf8(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data;
    long state = 0, result;

    (void)module;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "utf8() takes 1 or 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (nargs == 2) {
        state = PyLong_AsLong(args[1]);
        if (state == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (state < 0 || (state >> 16) > 3) {
            PyErr_SetString(PyExc_ValueError, "invalid UTF-8 validation state");
            return NULL;
        }
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    result = utf8Check((const unsigned char *)data.buf, data.len, state);
    PyBuffer_Release(&data);
    return PyLong_FromLong(result);
}

/*
 * Message totals: how many text and binary messages a list of events
 * holds, and their payload bytes, in one pass (what a connection that
 * counts its traffic adds up for each read).
 */

PyDoc_STRVAR(messageTotals_doc,
"messageTotals(events, bytesType, textType) -> (text, textBytes, binary, binaryBytes)\n\n"
"Count the events of exactly textType (by the length of their utf8) and of\n"
"exactly bytesType (by the length of their data) in the sequence events;\n"
"other events are skipped.");

/*
 * Where the slot NAME of instances of TYPE lives, as an offset into the
 * instance, or -1 if it is not a plain object slot (then the attribute is
 * read the usual way).
 */
static Py_ssize_t
slotOffset(PyObject *type, const char *name)
{
    PyObject *descr;
    PyMemberDef *member;

    if (!PyType_Check(type)) {
        return -1;
    }
    descr = PyDict_GetItemString(((PyTypeObject *)type)->tp_dict, name);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        return -1;
    }
    member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX) {
        return -1;
    }
    return member->offset;
}

static int
addLength(PyObject *event, Py_ssize_t offset, const char *name, Py_ssize_t *total)
{
    PyObject *value;
    Py_ssize_t size;

    if (offset >= 0) {
        value = *(PyObject **)((char *)event + offset);
        if (value != NULL && PyBytes_CheckExact(value)) {
            *total += PyBytes_GET_SIZE(value);
            return 0;
        }
    }
    value = PyObject_GetAttrString(event, name);
    if (value == NULL) {
        return -1;
    }
    size = PyObject_Length(value);
    Py_DECREF(value);
    if (size < 0) {
        return -1;
    }
    *total += size;
    return 0;
}

static PyObject *
speedups_messageTotals(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *events, *bytesType, *textType;
    Py_ssize_t i, n, dataOffset, utf8Offset;
    Py_ssize_t text = 0, binary = 0, textBytes = 0, binaryBytes = 0;
    int failed = 0;

    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "messageTotals() takes 3 arguments");
        return NULL;
    }
    events = args[0];
    bytesType = args[1];
    textType = args[2];
    events = PySequence_Fast(events, "messageTotals() needs a sequence of events");
    if (events == NULL) {
        return NULL;
    }
    dataOffset = slotOffset(bytesType, "data");
    utf8Offset = slotOffset(textType, "utf8");
    n = PySequence_Fast_GET_SIZE(events);
    for (i = 0; i < n && !failed; i++) {
        PyObject *event = PySequence_Fast_GET_ITEM(events, i);
        PyObject *cls = (PyObject *)Py_TYPE(event);

        if (cls == bytesType) {
            binary++;
            failed = addLength(event, dataOffset, "data", &binaryBytes);
        }
        else if (cls == textType) {
            text++;
            failed = addLength(event, utf8Offset, "utf8", &textBytes);
        }
    }
    Py_DECREF(events);
    if (failed) {
        return NULL;
    }
    return Py_BuildValue("(nnnn)", text, textBytes, binary, binaryBytes);
}

static PyMethodDef speedupsMethods[] = {
    {"mask", (PyCFunction)(void (*)(void))speedups_mask, METH_FASTCALL,
     mask_doc},
    {"utf8", (PyCFunction)(void (*)(void))speedups_utf8, METH_FASTCALL,
     utf8_doc},
    {"messageTotals", (PyCFunction)(void (*)(void))speedups_messageTotals, METH_FASTCALL,
     messageTotals_doc},
    {NULL, NULL, 0, NULL}
};

static PyModuleDef_Slot speedupsSlots[] = {
    {Py_mod_exec, speedupsExec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

PyDoc_STRVAR(module_doc,
"Compiled masking, payload buffers and UTF-8 validation for twisted_ws.codec.");

static struct PyModuleDef speedupsModule = {
    PyModuleDef_HEAD_INIT,
    "twisted_ws.codec._speedups",
    module_doc,
    0,
    speedupsMethods,
    speedupsSlots,
    NULL,
    NULL,
    NULL
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    fillTables();
#ifdef HAVE_SIMD_UTF8
    __builtin_cpu_init();
    haveSsse3 = __builtin_cpu_supports("ssse3");
#endif
    return PyModuleDef_Init(&speedupsModule);
}

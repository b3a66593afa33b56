/*
 * Compiled helper for twisted_ws.codec._mask: XOR a payload with a 4-byte
 * masking key repeated (RFC 6455 section 5.3).
 *
 * The module is optional.  twisted_ws.codec._mask uses it when it has been
 * built and falls back to a pure-Python routine otherwise.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

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
"mask(data, key) -> bytes\n\n"
"XOR data (any object supporting the buffer protocol) with the 4-byte\n"
"masking key, repeated.  Masking and unmasking are the same operation.");

static PyObject *
speedups_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, key;
    PyObject *result = NULL, *copy = NULL;
    unsigned char keyBytes[4];

    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "mask() takes exactly 2 arguments (%zd given)", nargs);
        return NULL;
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

    result = PyBytes_FromStringAndSize(NULL, data.len);
    if (result == NULL) {
        goto done;
    }
    if (data.len >= RELEASE_GIL_AT) {
        /*
         * The new bytes object is not yet visible to any other thread, and
         * the exported buffer keeps the input alive and, for a bytearray,
         * unresizable while the GIL is released.
         */
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(result);
        const unsigned char *src = (const unsigned char *)data.buf;
        Py_ssize_t n = data.len;
        Py_BEGIN_ALLOW_THREADS
        xorMask(dst, src, n, keyBytes);
        Py_END_ALLOW_THREADS
    }
    else {
        xorMask((unsigned char *)PyBytes_AS_STRING(result),
                (const unsigned char *)data.buf, data.len, keyBytes);
    }

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    Py_XDECREF(copy);
    return result;
}

static PyMethodDef speedupsMethods[] = {
    {"mask", (PyCFunction)(void (*)(void))speedups_mask, METH_FASTCALL,
     mask_doc},
    {NULL, NULL, 0, NULL}
};

static PyModuleDef_Slot speedupsSlots[] = {
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

PyDoc_STRVAR(module_doc,
"Compiled masking of WebSocket payloads for twisted_ws.codec._mask.");

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
    return PyModuleDef_Init(&speedupsModule);
}

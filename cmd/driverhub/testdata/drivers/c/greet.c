/* The shared library of the sample c driver: built into lib/libgreet.so,
 * found at run time only through LD_LIBRARY_PATH=lib. */
const char *greet(void) { return "hello from libgreet"; }

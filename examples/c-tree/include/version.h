/* Only the version tool includes this header. */
#define VERSION "1.0"

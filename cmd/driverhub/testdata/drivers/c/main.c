/* A sample c driver for the agent's end-to-end tests: it writes what it
 * received to ../report.txt, then stays up and prints a line per second.
 * It links against lib/libgreet.so without an rpath. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
const char *greet(void);

#define VERSION "@VERSION@"

static void put(FILE *f, const char *key, const char *val) {
	fprintf(f, "%s=", key);
	for (const unsigned char *p = (const unsigned char *)val; *p; p++)
		fprintf(f, "%02x", *p);
	fputc('\n', f);
}

/* append adds sep and s to a growing buffer. */
static char *append(char *buf, const char *s, const char *sep) {
	size_t n = buf ? strlen(buf) : 0;
	buf = realloc(buf, n + strlen(s) + strlen(sep) + 1);
	if (!buf)
		exit(10);
	buf[n] = 0;
	strcat(buf, sep);
	strcat(buf, s);
	return buf;
}

static char *slurp(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int c;
	while ((c = fgetc(f)) != EOF) {
		if (n + 2 > cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				exit(10);
		}
		buf[n++] = (char)c;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = 0;
	return buf;
}

int main(void) {
	char tmp[256], cwd[4096], pid[32];
	const char *keys[] = {"FUNCTION_ID", "FUNCTION_NAME", "FC_DRIVER_CONFIG", "DRIVERHUB_CONFIG", "LD_LIBRARY_PATH"};
	char *env = NULL, *files = NULL;

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(tmp, sizeof tmp, "../report.txt.tmp.%s", pid);
	if (!getcwd(cwd, sizeof cwd))
		return 11;
	for (char **e = environ; *e; e++) {
		char name[256];
		size_t n = strcspn(*e, "=");
		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, *e, n);
		name[n] = 0;
		env = append(env, name, env ? "\n" : "");
	}
	DIR *d = opendir(".");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			files = append(files, de->d_name, files ? "\n" : "");
	}
	if (d)
		closedir(d);

	FILE *f = fopen(tmp, "w");
	if (!f)
		return 12;
	put(f, "version", VERSION);
	put(f, "pid", pid);
	put(f, "cwd", cwd);
	put(f, "files", files ? files : "");
	put(f, "env", env ? env : "");
	put(f, "lib", greet());
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = getenv(keys[i]);
		if (v)
			put(f, keys[i], v);
	}
	const char *cfg = getenv("DRIVERHUB_CONFIG");
	char *content = cfg ? slurp(cfg) : NULL;
	if (content)
		put(f, "DRIVERHUB_CONFIG_CONTENT", content);
	char *settings = slurp("settings.ini");
	if (settings)
		put(f, "settings", settings);
	if (fclose(f) != 0 || rename(tmp, "../report.txt") != 0)
		return 13;

	for (int n = 1;; n++) {
		printf("tick %d %s %s\n", n, getenv("FUNCTION_NAME"), VERSION);
		fflush(stdout);
		sleep(1);
	}
}

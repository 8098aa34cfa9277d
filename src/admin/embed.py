"""Write a file's bytes as a C string constant, so the daemon carries
the status page it serves: embed.py INPUT OUTPUT NAME."""
import sys


def main():
    src, dst, name = sys.argv[1:4]
    data = open(src, "rb").read()
    lines = ["/* Made from %s by embed.py: edit that file. */" %
             src.rsplit("/", 1)[-1],
             "#include <stddef.h>",
             "const char %s[] =" % name]
    for line in data.decode("utf-8").splitlines(keepends=True):
        esc = line.replace("\\", "\\\\").replace('"', '\\"') \
            .replace("\n", "\\n").replace("\t", "\\t") \
            .replace("??", "?\\?")  # no trigraphs in -std=c11
        lines.append('\t"%s"' % esc)
    lines[-1] += ";"
    lines.append("const size_t %s_len = sizeof(%s) - 1;" % (name, name))
    open(dst, "w").write("\n".join(lines) + "\n")


main()

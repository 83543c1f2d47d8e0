"""Extract Jane Austen's six novels from Debian's r-cran-janeaustenr and
write the training and held-out texts.

  /usr/bin/python3 tools/corpus/prepare.py OUTDIR      # e.g. build/austen

Writes OUTDIR/train/<novel>.txt for the five training novels and
OUTDIR/heldout.txt (Persuasion), which no training step sees.

Normalization, the only changes to the package's text:
  - each line loses leading and trailing blanks;
  - the hard-wrapped lines of a paragraph are joined with one space, and
    paragraphs (runs of blank lines in the source) are separated by exactly
    one blank line, so the text is paragraphs, not 70-column lines;
  - the file ends with one newline.
Everything else (the title and chapter headings, _underscored_ emphasis,
punctuation, any non-ASCII character) is kept as the package has it.
"""
import os
import subprocess
import sys

NOVELS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion"]
HELDOUT = "persuasion"


def novel_lines(name):
    """The package's character vector, one element per source line. Each
    element is written on its own line; none holds a newline itself."""
    out = subprocess.run(["Rscript", "-e", f'cat(janeaustenr::{name}, sep="\\n")'],
                         check=True, capture_output=True)
    return out.stdout.decode("utf-8").split("\n")


def normalize(lines):
    paragraphs, cur = [], []
    for line in lines:
        line = line.strip()
        if line:
            cur.append(line)
        elif cur:
            paragraphs.append(" ".join(cur))
            cur = []
    if cur:
        paragraphs.append(" ".join(cur))
    return "\n\n".join(paragraphs) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: prepare.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "train"), exist_ok=True)
    for i, name in enumerate(NOVELS):
        text = normalize(novel_lines(name))
        path = os.path.join(out, "heldout.txt") if name == HELDOUT else \
            os.path.join(out, "train", f"{i}-{name}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{name}: {len(text.encode('utf-8'))} bytes -> {path}")


if __name__ == "__main__":
    main()

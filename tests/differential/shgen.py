"""Random scripts from the grammar of the sidecar's subset (README, "The sidecar").

Every script is built from a seed, so a run is reproducible: `generate(seed)` always gives the
same text. What it covers: quoting mixes (plain, '...', "...", backslashes) joined into one
word, line continuations (backslash-newline) between any two characters where POSIX removes
them (never inside '...' or a comment, never between a backslash and the byte it quotes), `$$`,
nested `$(...)`, `( )`, `&&`, `||`, `;`, newlines, comments, bounded `until`/`while` loops,
`exit [N]` at any depth, and every builtin with its options, on the files the runner lays out
in the work directory (see differential.py) and the ones the script makes itself.

A script is first built as a list of atoms: pieces that a continuation may separate. The
generator stays inside the subset, apart from what the README documents as refused at run
time (glob characters in an unquoted `$(...)` result can come from `ls` of a name holding one).
"""

import random

SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./,:=+@%")

# Names inside the work directory: made by the runner (f, e, d, d/g, s, dl, bad), by scripts
# (x, y, z...), or never there (n). Some need quoting.
NAMES = [
    "f", "e", "d", "d/g", "s", "dl", "bad", "n", "x", "y", "z", "d/x", "x/y", "dl/k",
    "sp ace", "it's", "st*r", "q?m", "amp&", "do$lar", "semi;colon", "back\\slash",
    "tab\tname", "ctl\x01name", "del\x7fname", "\u00e9t\u00e9", "-dash", "#hash", "~tilde",
    "new\nline", "[br]", "p(ar)", "dq\"x",
]
DIR_OPERANDS = [".", "/", "..", "d/", "d//", "/w", "/w/d", "", "x/", "./x"]
TARGETS = ["f", "d", "/proc/$$/root/models", "../d", "nowhere", "/w/f", "d/g", "sp ace", "."]
TEXTS = ["a", "b c", "hello world", "", " ", "-n", "-", "--", "x y  z", "'", "\"", "tab\there",
         "OK ... Prefetched", "a\\nb", "$", "a$", "#", "!", "=", "*", "?"]
MODES = ["755", "700", "0", "1777", "0755", "00755", "777", "7777", "8", "u+x", "go=", "a=rwx,g-w",
         "=x", "+t", "u+s", "g+X", "u=g", "o-r,u-w", "", "bad", "u=rwx,o=", "a-x", "ug+w"]
SLEEPS = ["0", "0.001", ".001", "0s", "0m", "0.0001h", "0d", "0 0", "1x", "", "-1", "0.0.1"]
EXIT_CODES = ["0", "1", "2", "3", "127", "255", "256", "300", "", "1 2", "abc", "-1", "007"]
NOT_FOUND = ["nosuch", "/bin/nosuch", "./nosuch"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.loops = 0

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    # --- words ---------------------------------------------------------------------------

    def literal(self, text):
        """Atoms for `text` as one piece of a word, quoted in a random mix."""
        atoms = []
        i = 0
        while i < len(text):
            n = self.r.randint(1, max(1, len(text) - i))
            chunk = text[i:i + n]
            i += n
            styles = ["double", "backslash"]
            if all(c in SAFE for c in chunk):
                styles += ["plain", "plain"]
            if "'" not in chunk:
                styles += ["single", "single"]
            if "\n" in chunk:
                styles = [s for s in styles if s != "backslash"] or ["double"]
            style = self.pick(styles)
            if style == "plain":
                atoms += list(chunk)
            elif style == "single":
                atoms.append("'" + chunk + "'")
            elif style == "double":
                atoms.append('"')
                for c in chunk:
                    atoms.append("\\" + c if c in '$`"\\' else c)
                atoms.append('"')
            else:
                atoms += ["\\" + c for c in chunk]
        return atoms

    def word(self, text, depth, allow_expansions=True):
        """A word whose value is `text`, sometimes with `$$` or a `$(...)` inside (which change
        the value: all three shells compute the same one)."""
        atoms = self.literal(text) if text else self.pick([["''"], ['"', '"']])
        if allow_expansions and depth < 4 and self.chance(0.12):
            extra = self.expansion(depth)
            at = self.r.randint(0, len(atoms))
            # Never inside a quoted atom: between whole atoms only.
            atoms = atoms[:at] + extra + atoms[at:]
        return atoms

    def expansion(self, depth):
        if self.chance(0.4):
            return self.pick([["$", "$"], ['"', "$", "$", '"']])
        inner = self.list_(depth + 1, small=True)
        if inner[0].startswith("("):
            # `$((` would be arithmetic.
            inner = [" "] + inner
        quoted = self.chance(0.6)
        atoms = ["$", "("] + inner + [")"]
        return ['"'] + atoms + ['"'] if quoted else atoms

    def name(self):
        n = self.pick(NAMES)
        if self.chance(0.15):
            n = "/w/" + n
        if self.chance(0.05):
            n = n + "$$"
        return n

    def path_word(self, depth, text=None):
        text = self.name() if text is None else text
        if "$$" in text:
            head, _, tail = text.partition("$$")
            return self.literal(head) + ["$", "$"] + (self.literal(tail) if tail else [])
        return self.word(text, depth)

    # --- commands --------------------------------------------------------------------------

    def simple(self, depth):
        kind = self.pick(["echo"] * 4 + ["ln"] * 4 + ["mkdir"] * 4 + ["ls"] * 3 + ["test"] * 4
                         + ["true", "false", "sleep", "exit", "notfound"])
        words = []
        if kind == "echo":
            words.append(self.word("echo", depth, False))
            if self.chance(0.3):
                words.append(self.word(self.pick(["-n", "-nn", "-x", "--", "-"]), depth))
            for _ in range(self.r.randint(0, 3)):
                words.append(self.word(self.pick(TEXTS + NAMES), depth))
        elif kind == "ln":
            words.append(self.word("ln", depth, False))
            opts = self.pick(["", "-s", "-sf", "-f", "-sfn", "-n", "-sn", "-s -f", "-fs", "-x", "--"])
            for o in opts.split():
                words.append(self.word(o, depth, False))
            # A hard link forced onto its own target is left out: busybox removes the file and
            # then fails to link it (`ln -f e` deletes e); ours keeps it (README).
            hard_force = "f" in opts and "s" not in opts
            n = self.pick([2, 2, 3] if hard_force else [1, 2, 2, 2, 3])
            targets = []
            for k in range(n):
                last = k == n - 1
                # (Both in the work directory itself: then no link name can be the target.)
                if not last or n == 1:
                    t = self.pick([x for x in TARGETS + NAMES if not hard_force or "/" not in x])
                    targets.append(t)
                elif hard_force:
                    t = self.pick([x for x in NAMES if "/" not in x and x not in targets])
                else:
                    t = self.pick(NAMES + DIR_OPERANDS)
                words.append(self.path_word(depth, t))
        elif kind == "mkdir":
            words.append(self.word("mkdir", depth, False))
            if self.chance(0.5):
                words.append(self.word("-p", depth, False))
            if self.chance(0.35):
                mode = self.pick(MODES)
                if self.chance(0.5):
                    words.append(self.word("-m", depth, False))
                    words.append(self.word(mode, depth, False))
                else:
                    words.append(self.word("-m" + mode, depth, False))
            for _ in range(self.r.randint(0, 3)):
                words.append(self.path_word(depth, self.pick(NAMES + DIR_OPERANDS + ["x/y/z", "d/q/r"])))
        elif kind == "ls":
            words.append(self.word("ls", depth, False))
            if self.chance(0.6):
                words.append(self.word(self.pick(["-A", "-a", "-1", "-1A", "-Aa", "-z"]), depth, False))
            if self.chance(0.8):
                # Not `-dash`: busybox's ls has many more options than the subset's (-1Aa).
                name = self.pick([n for n in NAMES + DIR_OPERANDS if not n.startswith("-")])
                words.append(self.path_word(depth, name))
        elif kind == "test":
            bracket = self.chance(0.6)
            words.append(self.word("[" if bracket else "test", depth, False))
            form = self.pick(["unary", "unary", "binary", "not", "lone", "empty"])
            if form in ("unary", "not"):
                if form == "not":
                    words.append(self.word("!", depth, False))
                words.append(self.word(self.pick(["-d", "-e", "-f", "-s", "-L", "-h", "-n", "-z"]), depth, False))
                words.append(self.path_word(depth))
            elif form == "binary":
                words.append(self.word(self.pick(TEXTS + NAMES), depth))
                words.append(self.word(self.pick(["=", "!="]), depth, False))
                words.append(self.word(self.pick(TEXTS + NAMES), depth))
            elif form == "lone":
                words.append(self.word(self.pick(TEXTS), depth))
            if bracket:
                words.append(self.word("]", depth, False))
        elif kind == "sleep":
            words.append(self.word("sleep", depth, False))
            for s in self.pick(SLEEPS).split(" "):
                words.append(self.word(s, depth, False))
        elif kind == "exit":
            return self.exit_command(depth)
        elif kind == "notfound":
            words.append(self.word(self.pick(NOT_FOUND), depth, False))
        else:
            words.append(self.word(kind, depth, False))
            if self.chance(0.2):
                words.append(self.word("ignored", depth))
        return self.join_words(words)

    def exit_command(self, depth):
        words = [self.word("exit", depth, False)]
        code = self.pick(EXIT_CODES)
        for c in code.split(" ") if code else []:
            words.append(self.word(c, depth, False))
        return self.join_words(words)

    def join_words(self, words):
        atoms = []
        for k, w in enumerate(words):
            if k:
                atoms.append(self.pick([" ", " ", "  ", "\t"]))
            atoms += w
        return atoms

    def command(self, depth):
        roll = self.r.random()
        if depth < 4 and roll < 0.12:
            return ["("] + self.pick([[], [" "]]) + self.list_(depth + 1) + [")"]
        if depth < 3 and roll < 0.2:
            return self.loop(depth)
        if roll < 0.25:
            return self.exit_command(depth)
        return self.simple(depth)

    def loop(self, depth):
        self.loops += 1
        k = self.loops
        c = self.r.random()
        kw = list
        if c < 0.15:
            # No round at all (nothing makes `nope`: no name in NAMES).
            head = kw("while") + [" "] + self.pick([kw("false"), kw("[ -d nope ]")])
            counter = []
        elif c < 0.25:
            head = kw("until") + [" "] + kw("true")
            counter = []
        else:
            # Three rounds at most: the body makes L{k}/a, then b, then c, whatever else it does.
            probe = f"[ -d L{k}/c ]"
            head = kw("until") + [" "] + kw(probe) if self.chance(0.5) else \
                kw("while") + [" "] + kw(f"[ ! -d L{k}/c ]")
            counter = (["\n"] + kw(f"[ -d L{k}/b ] && mkdir L{k}/c; [ -d L{k}/a ] && mkdir -p L{k}/b;"
                                    f" mkdir -p L{k}/a"))
        body = self.list_(depth + 1, small=True)
        sep = self.pick([["; "], ["\n"], [";\n"]])
        return head + sep + kw("do") + [" "] + body + counter + sep + kw("done")

    def and_or(self, depth):
        atoms = self.command(depth)
        while self.chance(0.35):
            atoms += [self.pick([" ", ""])] + self.pick([["&", "&"], ["|", "|"]])
            atoms += [self.pick([" ", "\n", " \n  ", ""])]
            atoms += self.command(depth)
        return atoms

    def list_(self, depth, small=False):
        n = self.r.randint(1, 2 if small else 3)
        atoms = []
        for k in range(n):
            if k:
                sep = self.pick([[";", " "], ["\n"], [" ", ";", "\n"], ["\n", "\n"], [";"]])
                if self.chance(0.1):
                    sep = [" ", "# comment 'x\" \\", "\n"]
                atoms += sep
            atoms += self.and_or(depth)
        # A trailing `;` (not on the lists a loop or `$(...)` joins with a `;` of its own: `;;`
        # is a syntax error, which busybox and dash only meet once the lines before it ran).
        if not small and self.chance(0.15):
            atoms += [";"]
        return atoms

    def script(self):
        atoms = []
        if self.chance(0.1):
            atoms += ["# leading comment", "\n"]
        if self.chance(0.1):
            atoms += ["\n"]
        atoms += self.list_(0)
        if self.chance(0.2):
            atoms += ["\n"]
        return atoms


def continuations(r, atoms, rate):
    """Joins the atoms, with a backslash-newline between some of them."""
    out = []
    for k, a in enumerate(atoms):
        if k and r.random() < rate:
            out.append("\\\n")
        out.append(a)
    return "".join(out)


def generate(seed):
    g = Gen(seed)
    atoms = g.script()
    rate = g.pick([0, 0, 0.02, 0.1])
    return continuations(g.r, atoms, rate)


if __name__ == "__main__":
    import sys
    for s in range(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
        print(repr(generate(s)))

#!/usr/bin/python3
"""help_docs.py: the manual pages and the bash completion against the programs' own --help.

  help_docs.py clinicd CLINICD MAN.scd      every option and variable of `clinicd --help` is in
                                            the page's OPTIONS, and every option there in the help
  help_docs.py clinic CLINIC MAN.scd        every global option of `clinic --help` is in OPTIONS;
                                            every command (`clinic --help`, then `clinic COMMAND
                                            --help` down through groups to each leaf) has its
                                            "## COMMAND" section in COMMANDS holding each of its
                                            options; and the page documents nothing the tool lacks
  help_docs.py completion CLINIC FILE       the completion offers exactly the commands, verbs and
                                            options that the help lists

The help is parsed generically, so a new command is found as soon as the tool has it. Each
problem is printed on its own line, naming the command and the option; exit status 1 if any.
"""
import re
import subprocess
import sys

OPTION = re.compile(r"^  (--[a-z0-9][a-z0-9-]*)")


def run_help(program, args):
    # a daemon nobody listens on: --help must never call one
    pre = ["--url", "tcp://127.0.0.1:1", "--timeout", "1000"] if program.endswith("clinic") else []
    r = subprocess.run([program] + pre + args + ["--help"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        sys.exit("%s %s --help failed (exit %d): %s" % (program, " ".join(args), r.returncode,
                                                       r.stderr.strip()))
    return r.stdout


def section_words(text, heading):
    """First words of the lines indented by exactly two spaces in the section that starts at a line
    matching heading and ends at an empty line (the rule the completion follows too)."""
    words, inside = [], False
    for line in text.split("\n"):
        if inside:
            if not line:
                break
            m = re.match(r"^  ([^ ].*)$", line)
            if m:
                words.append(m.group(1).split(" ")[0])
        elif re.match(heading, line):
            inside = True
    return words


def help_options(text):
    return [m.group(1) for m in map(OPTION.match, text.split("\n")) if m]


def clinic_tree(clinic):
    """(top help, leaves, groups): leaves maps a command path ("admin client create") to the
    options its help lists; groups maps a path ("" for the top) to its children."""
    top = run_help(clinic, [])
    children = []
    for w in section_words(top, r"^Commands:$"):
        if w not in children:
            children.append(w)
    groups, leaves = {"": children}, {}

    def walk(path):
        text = run_help(clinic, path)
        kids = section_words(text, r"^(Verbs|Entities and their verbs):$")
        if kids:
            groups[" ".join(path)] = kids
            for k in kids:
                walk(path + [k])
        else:
            leaves[" ".join(path)] = help_options(text)

    for c in children:
        walk([c])
    if "health" not in leaves or len(leaves) < 10:
        sys.exit("clinic --help lists no commands any more (or not health): has its format "
                 "changed? tests/docs/help_docs.py and the completion parse it")
    return top, leaves, groups


def man_sections(path):
    """{"OPTIONS": text, "COMMANDS": text, ...} of a scdoc page."""
    sections, name = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^# (.+)$", line)
        if m:
            name = m.group(1).strip()
            sections[name] = ""
        elif name:
            sections[name] += line
    return sections


def man_options(text):
    """Options a page's text documents: *--name* (bold, as scdoc marks them)."""
    return re.findall(r"\*(--[a-z0-9][a-z0-9-]*)\*", text)


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def check_clinicd(clinicd, page):
    problems = []
    text = run_help(clinicd, [])
    opts = help_options(text)
    envs = re.findall(r"env (CLINIC_[A-Z0-9_]+)", text)
    sections = man_sections(page)
    documented = man_options(sections.get("OPTIONS", ""))
    whole = unescape(open(page, encoding="utf-8").read())
    for o in opts:
        if o not in documented:
            problems.append("%s: option %s (clinicd --help) is missing from OPTIONS: add "
                            "*%s* with its description" % (page, o, o))
    for e in envs:
        if e not in whole:
            problems.append("%s: variable %s (clinicd --help) is not named in the page" % (page, e))
    for o in sorted(set(documented) - set(opts)):
        problems.append("%s: OPTIONS documents %s, which clinicd --help does not list" % (page, o))
    return problems


def check_clinic(clinic, page):
    problems = []
    top, leaves, _ = clinic_tree(clinic)
    sections = man_sections(page)
    documented = man_options(sections.get("OPTIONS", ""))
    for o in help_options(top):
        if o not in documented:
            problems.append("%s: global option %s (clinic --help) is missing from OPTIONS" %
                            (page, o))
    for o in sorted(set(documented) - set(help_options(top))):
        problems.append("%s: OPTIONS documents %s, which clinic --help does not list" % (page, o))
    blocks, name = {}, None
    for line in sections.get("COMMANDS", "").split("\n"):
        m = re.match(r"^## (.+)$", line)
        if m:
            name = unescape(m.group(1).strip())
            blocks[name] = ""
        elif name:
            blocks[name] += line + "\n"
    for path, opts in leaves.items():
        opts = [o for o in opts if o != "--help"]  # every command has it: OPTIONS says so once
        if path not in blocks:
            problems.append("%s: command `clinic %s` is missing: add a section \"## %s\" to "
                            "COMMANDS with its synopsis and options %s" %
                            (page, path, path, " ".join(opts) or "(none)"))
            continue
        have = man_options(blocks[path])
        for o in opts:
            if o not in have:
                problems.append("%s: option %s of `clinic %s` is missing from its section" %
                                (page, o, path))
        for o in sorted(set(have) - set(opts)):
            problems.append("%s: section \"## %s\" documents %s, which `clinic %s --help` does "
                            "not list" % (page, path, o, path))
    for path in blocks:
        if path not in leaves:
            problems.append("%s: section \"## %s\" documents a command that clinic --help does "
                            "not list" % (page, path))
    return problems


def check_completion(clinic, script):
    """Runs the completion function in one bash for every group (its children) and every leaf
    (its options) and compares with the help."""
    _, leaves, groups = clinic_tree(clinic)
    cases = [(path.split(), "", sorted(kids)) for path, kids in groups.items()]
    cases += [(path.split(), "--", sorted(opts)) for path, opts in leaves.items()]
    lines = ["source %s" % shq(script), "set -u"]
    for i, (path, cur, _) in enumerate(cases):
        words = " ".join(shq(w) for w in [clinic] + path + [cur])
        lines.append("COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); "
                     "_clinic; printf '%d:%%s\\n' \"${COMPREPLY[*]:-}\"" % (words, i))
    r = subprocess.run(["/bin/bash", "--norc", "--noprofile"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return ["%s: bash failed (exit %d): %s" % (script, r.returncode, r.stderr.strip())]
    got = {}
    for line in r.stdout.split("\n"):
        m = re.match(r"^(\d+):(.*)$", line)
        if m:
            got[int(m.group(1))] = sorted(m.group(2).split())
    problems = []
    for i, (path, cur, want) in enumerate(cases):
        have = got.get(i, [])
        if have != want:
            typed = " ".join(["clinic"] + path + [cur]).rstrip()
            problems.append("%s: `%s<TAB>` offers [%s]; the help lists [%s] (missing: %s; extra: "
                            "%s)" % (script, typed + " ", " ".join(have), " ".join(want),
                                     " ".join(sorted(set(want) - set(have))) or "none",
                                     " ".join(sorted(set(have) - set(want))) or "none"))
    return problems


def shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("clinicd", "clinic", "completion"):
        sys.exit(__doc__)
    what, program, path = sys.argv[1:]
    check = {"clinicd": check_clinicd, "clinic": check_clinic, "completion": check_completion}
    problems = check[what](program, path)
    for p in problems:
        print(p)
    if problems:
        print("%d problem(s)" % len(problems))
        sys.exit(1)
    print("ok: %s matches %s --help" % (path, program))


if __name__ == "__main__":
    main()

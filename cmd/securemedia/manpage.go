package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The manual pages are made from the commands' own help, so that
// "securemedia help burn" and "man securemedia-burn" say the same: the
// hidden command "securemedia man-pages DIR" writes securemedia.1 and
// securemedia-COMMAND.1 for every command ("make install" runs it).

func newManPagesCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "man-pages DIR",
		Short:  "Write the manual pages (securemedia.1, securemedia-COMMAND.1) into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(cmd.Root(), args[0])
		},
	}
}

// writeManPages writes a page for the root command and for every command
// a user can run or read about under it.
func writeManPages(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range manCommands(root) {
		if err := os.WriteFile(filepath.Join(dir, manName(c)+".1"), []byte(manPage(c)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manCommands are c and the commands under it that get a page: all that
// "help" lists, except help itself.
func manCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" {
			out = append(out, manCommands(sub)...)
		}
	}
	return out
}

// manName is the page's name: securemedia, securemedia-burn,
// securemedia-completion-bash.
func manName(c *cobra.Command) string { return strings.ReplaceAll(c.CommandPath(), " ", "-") }

func manPage(c *cobra.Command) string {
	var b strings.Builder
	v := version
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(&b, ".TH \"%s\" 1 \"\" \"securemedia %s\" \"SecureMedia Manual\"\n", roffEscape(strings.ToUpper(manName(c))), roffEscape(v))
	b.WriteString(".nh\n.ad l\n") // no hyphenation, ragged right: as the help reads
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roffEscape(manName(c)), roffEscape(c.Short))

	b.WriteString(".SH SYNOPSIS\n")
	if c.Runnable() {
		fmt.Fprintf(&b, "\\fB%s\\fR%s\n", roffEscape(c.CommandPath()), roffEscape(strings.TrimPrefix(c.UseLine(), c.CommandPath())))
	}
	if c.HasAvailableSubCommands() {
		if c.Runnable() {
			b.WriteString(".br\n")
		}
		fmt.Fprintf(&b, "\\fB%s\\fR COMMAND [flags]\n", roffEscape(c.CommandPath()))
	}

	b.WriteString(".SH DESCRIPTION\n")
	long := c.Long
	if long == "" {
		long = c.Short
	}
	b.WriteString(roffText(long))

	var subs []*cobra.Command
	for _, sub := range c.Commands() {
		if (sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand()) && sub.Name() != "help" {
			subs = append(subs, sub)
		}
	}
	if len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range subs {
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s", roffEscape(sub.Name()), roffLine(sub.Short))
			if sub.IsAvailableCommand() {
				fmt.Fprintf(&b, "; see \\fB%s\\fR(1)", roffEscape(manName(sub)))
			} else {
				fmt.Fprintf(&b, "; see \\fB%s help %s\\fR", roffEscape(c.CommandPath()), roffEscape(sub.Name()))
			}
			b.WriteString("\n")
		}
	}

	c.InitDefaultHelpFlag()
	writeFlags(&b, "OPTIONS", c.LocalFlags())
	writeFlags(&b, "GLOBAL OPTIONS", c.InheritedFlags())

	b.WriteString(".SH EXIT STATUS\n")
	b.WriteString(roffText(exitCodesText))

	b.WriteString(".SH SEE ALSO\n")
	var see []string
	for _, other := range seeAlso(c, long) {
		see = append(see, `\fB`+roffEscape(manName(other))+`\fR(1)`)
	}
	b.WriteString(strings.Join(see, ",\n") + "\n")
	return b.String()
}

// seeAlso are the pages the page of c refers to: for the root, every
// other; for a command, the root's, its parent's, its subcommands' and
// those of the commands its description names.
func seeAlso(c *cobra.Command, description string) []*cobra.Command {
	all := manCommands(c.Root())
	if !c.HasParent() {
		return all[1:]
	}
	var see []*cobra.Command
	for _, other := range all {
		if other != c && (!other.HasParent() || other == c.Parent() || other.Parent() == c || mentions(description, other.CommandPath())) {
			see = append(see, other)
		}
	}
	return see
}

// mentions reports whether text names the command path as a word
// ("securemedia index", not "securemedia indexes").
func mentions(text, path string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], path)
		if j < 0 {
			return false
		}
		end := i + j + len(path)
		if end == len(text) || !(unicode.IsLetter(rune(text[end])) || text[end] == '-') {
			return true
		}
		i = end
	}
}

// writeFlags lists flags as the help does: names, the value's name, the
// usage and a default that is not the zero value.
func writeFlags(b *strings.Builder, title string, flags *pflag.FlagSet) {
	if !flags.HasAvailableFlags() {
		return
	}
	fmt.Fprintf(b, ".SH %s\n", title)
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		b.WriteString(".TP\n")
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			fmt.Fprintf(b, "\\fB\\-%s\\fR, ", roffEscape(f.Shorthand))
		}
		fmt.Fprintf(b, "\\fB\\-\\-%s\\fR", roffEscape(f.Name))
		name, usage := pflag.UnquoteUsage(f)
		if name != "" {
			fmt.Fprintf(b, " \\fI%s\\fR", roffEscape(name))
		}
		b.WriteString("\n")
		switch f.DefValue {
		case "", "false", "0", "0s", "[]", "<nil>":
		default:
			if f.Value.Type() == "string" {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		b.WriteString(roffLine(usage) + "\n")
	})
}

// roffText renders help text as the help lays it out: paragraphs at the
// left margin are filled; a line in capitals at the left margin followed
// by indented lines is a subsection heading, and indented prose under it
// is filled too; lists of terms (see hangingList) are lists; other
// indented lines (examples, commands) are kept as they are.
func roffText(text string) string {
	var b strings.Builder
	inSub := false
	for _, block := range strings.Split(strings.ReplaceAll(text, "\t", "        "), "\n\n") {
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		for len(lines) > 0 {
			n := 1
			for n < len(lines) && indented(lines[n]) == indented(lines[0]) {
				n++
			}
			run := lines[:n]
			lines = lines[n:]
			switch {
			case !indented(run[0]) && len(lines) > 0 && isHeading(run[0]):
				b.WriteString(".SS\n" + roffLine(strings.Join(run, " ")) + "\n")
				inSub = true
			case !indented(run[0]):
				b.WriteString(".PP\n")
				for _, l := range run {
					b.WriteString(roffLine(l) + "\n")
				}
			case inSub && isProse(run):
				b.WriteString(".PP\n")
				for _, l := range run {
					b.WriteString(roffLine(strings.TrimSpace(l)) + "\n")
				}
			default:
				if list, rest := hangingList(run); list != "" {
					b.WriteString(list)
					lines = append(rest, lines...)
					continue
				}
				b.WriteString(preformatted(run, inSub))
			}
		}
	}
	return b.String()
}

// hangingList renders the leading lines that form a list of terms, each
// followed by two or more spaces and its text, which goes on in lines
// indented to where it started (the exit codes, send's SELECTION; or
// "- " and the text: a bulleted list), as a
// list of filled paragraphs, indented as in the help. It returns the
// lines after the list, or "" when fewer than two entries lead.
func hangingList(lines []string) (string, []string) {
	type entry struct {
		term string
		text []string
	}
	var entries []entry
	column, i := 0, 0
	for ; i < len(lines); i++ {
		l := lines[i]
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if len(entries) > 0 && indent == column {
			e := &entries[len(entries)-1]
			e.text = append(e.text, strings.TrimSpace(l))
			continue
		}
		term, text, ok := strings.Cut(strings.TrimSpace(l), "  ")
		if bullet, found := strings.CutPrefix(strings.TrimSpace(l), "- "); found {
			term, text, ok = "-", " "+bullet, true
		}
		if !ok || strings.TrimSpace(text) == "" {
			break
		}
		column = len(l) - len(strings.TrimLeft(text, " "))
		entries = append(entries, entry{term, []string{strings.TrimSpace(text)}})
	}
	if len(entries) < 2 {
		return "", lines
	}
	base := len(lines[0])
	for _, l := range lines[:i] {
		base = min(base, len(l)-len(strings.TrimLeft(l, " ")))
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, ".TP %dn\n%s\n", column-base, roffLine(e.term))
		for _, t := range e.text {
			b.WriteString(roffLine(t) + "\n")
		}
	}
	b.WriteString(".PP\n")
	return b.String(), lines[i:]
}

// preformatted keeps lines as they are, their common indent removed (under
// a subsection heading the section's indent stands for it).
func preformatted(lines []string, inSub bool) string {
	indent := len(lines[0])
	for _, l := range lines {
		indent = min(indent, len(l)-len(strings.TrimLeft(l, " ")))
	}
	var b strings.Builder
	b.WriteString(".PP\n")
	if !inSub {
		b.WriteString(".RS 4\n")
	}
	b.WriteString(".nf\n")
	for _, l := range lines {
		l = l[indent:]
		if strings.HasPrefix(l, " ") {
			b.WriteString(`\&`) // keep the leading spaces
		}
		b.WriteString(roffLine(l) + "\n")
	}
	b.WriteString(".fi\n")
	if !inSub {
		b.WriteString(".RE\n")
	}
	return b.String()
}

func indented(l string) bool { return strings.HasPrefix(l, " ") }

// isHeading: the first word is in capitals (MEDIUM AND PROFILE, EXAMPLES).
func isHeading(l string) bool {
	word, _, _ := strings.Cut(l, " ")
	return len(word) > 1 && strings.ToUpper(word) == word && strings.ToLower(word) != word
}

// isProse: indented lines of running text, not a command or a table.
func isProse(lines []string) bool {
	indent := len(lines[0]) - len(strings.TrimLeft(lines[0], " "))
	for _, l := range lines {
		t := strings.TrimLeft(l, " ")
		if len(l)-len(t) != indent || strings.Contains(t, "   ") || strings.HasPrefix(t, "securemedia ") || strings.HasPrefix(t, "$ ") {
			return false
		}
	}
	return true
}

// roffEscape makes text print as it reads: backslashes, hyphens (which
// would become typographic hyphens, and must stay typable in options),
// quotes, ^ and ~ are escaped, and any other character outside ASCII is
// named by its code point, whatever encoding the formatter assumes.
func roffEscape(s string) string {
	s = roffEscaper.Replace(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		}
	}
	return b.String()
}

var roffEscaper = strings.NewReplacer(`\`, `\e`, "-", `\-`, "'", `\(aq`, "`", `\(ga`, "^", `\(ha`, "~", `\(ti`)

// roffLine is a line of text escaped, and protected from being read as a
// request (a leading "." or "'").
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

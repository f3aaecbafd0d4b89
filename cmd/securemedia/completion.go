package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/media"
)

// Shell completion comes from cobra's generator ("securemedia completion
// bash|zsh|fish|powershell"); here it learns the words that flags take and
// the topics of "securemedia help".

// media burn offers, with the disc each stands for.
var mediaNames = []struct {
	medium media.Medium
	what   string
}{
	{media.CD, "CD-R"}, {media.DVD, "DVD-R or DVD+R"}, {media.DVDDL, "DVD+R double layer"}, {media.BD, "BD-R"}, {media.USB, "a folder: USB stick, memory card"},
}

// flagWords are the words a flag takes (media.ParseMedium's,
// cms.ParseCipher's and parseDigest's short names), each with what it
// means.
var flagWords = map[string][]cobra.Completion{
	"media": mediaWords(),
	"cipher": {
		cobra.CompletionWithDesc("aes256", "AES-256-CBC (the default)"),
		cobra.CompletionWithDesc("aes192", "AES-192-CBC"),
		cobra.CompletionWithDesc("aes128", "AES-128-CBC"),
		cobra.CompletionWithDesc("des3", "Triple-DES: only for legacy readers"),
	},
	"digest": {
		cobra.CompletionWithDesc("sha256", "SHA-256 (the default)"),
		cobra.CompletionWithDesc("sha384", "SHA-384"),
		cobra.CompletionWithDesc("sha512", "SHA-512"),
		cobra.CompletionWithDesc("sha1", "SHA-1: only for legacy readers"),
	},
}

// mediaWords are the media with the disc and capacity of each.
func mediaWords() []cobra.Completion {
	var words []cobra.Completion
	for _, m := range mediaNames {
		what := m.what
		if c := m.medium.Capacity(); c > 0 {
			what += ", up to " + humanBytes(c)
		}
		words = append(words, cobra.CompletionWithDesc(string(m.medium), what))
	}
	return words
}

// addCompletion registers the words of flagWords on every command that
// has such a flag, and completes "securemedia help" with the commands and
// the other help topics (exit-codes), which cobra's own help leaves out.
func addCompletion(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for name, words := range flagWords {
			if c.LocalNonPersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, offer(words))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.ValidArgsFunction = completeHelpTopic
		}
	}
}

// offer completes a flag with those of words that start with what is typed.
func offer(words []cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, w := range words {
			if strings.HasPrefix(w, toComplete) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeHelpTopic offers the commands and help topics under the ones
// already given ("securemedia help completion " offers bash, zsh, ...).
func completeHelpTopic(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	parent, _, err := c.Root().Find(args)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, sub := range parent.Commands() {
		if (sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand()) && strings.HasPrefix(sub.Name(), toComplete) {
			out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

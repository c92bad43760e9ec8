// Package envconf is the one configuration mechanism of the commands: every setting
// that an operator may give through the environment is a Var in the table All, with
// one environment variable, one flag name (the variable in lower case with dashes,
// the same in every command), one default and one line of help. A command binds the
// Vars it uses onto its flag.FlagSet with a Binder; the flag wins over the variable
// and the variable over the default. --help and the README's configuration table are
// generated from the same table (a test checks the README).
package envconf

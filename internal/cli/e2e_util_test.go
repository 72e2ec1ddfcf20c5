package cli_test

import "regexp"

func regexpMatch(expr, s string) (bool, error) {
	re, err := regexp.Compile("(?m)" + expr)
	if err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

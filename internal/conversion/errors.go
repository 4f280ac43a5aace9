package conversion

import "fmt"

// InputError is the only error the package returns. It describes a request
// the engine refuses: Message is in Simplified Chinese and tells the user what
// to fix, Field is the JSON path of the offending input ("pricing.discount",
// "tranches[2].units"), empty when the request as a whole is at fault (not
// JSON, too large). Its JSON form is the error object of DOMAIN §14.
type InputError struct {
	Message string `json:"error"`
	Field   string `json:"field"`
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// fieldErr builds an InputError; a short constructor keeps validation code
// readable.
func fieldErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

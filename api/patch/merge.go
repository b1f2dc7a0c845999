package patch

// MergePatch applies an RFC 7386 JSON merge patch to original and returns the patched
// document: members of a patch object replace the target's, null removes a member,
// objects merge recursively and everything else (arrays included) replaces the target
// value whole. A patch that is not an object replaces the whole document.
func MergePatch(original, patch []byte) ([]byte, error) {
	doc, err := decodeOriginal(original)
	if err != nil {
		return nil, err
	}
	p, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	return encode(mergeValue(doc, p))
}

// mergeValue is the MergePatch pseudo-code of RFC 7386 section 2. It mutates target.
func mergeValue(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		// A missing or non-object target starts empty, which also strips the nulls from
		// a patch object that adds a new member.
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergeValue(tm[k], v)
	}
	return tm
}

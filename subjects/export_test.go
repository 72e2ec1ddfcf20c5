package subjects

// DecodeStd and DecodeFast expose Decode's two decoders to the differential fuzz test.
var (
	DecodeStd  = decodeStd
	DecodeFast = decodeFast
)

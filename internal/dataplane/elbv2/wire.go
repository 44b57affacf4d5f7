package elbv2

import (
	"bytes"
	"encoding/xml"
	"time"
)

// The XML shapes of the answers (ELBv2 API version 2015-12-01, Query protocol): lists are
// <Name><member>...</member></Name>, timestamps ISO 8601. encoding/xml writes them; no library
// serves the AWS Query protocol.

// XMLNamespace is the namespace of every ELBv2 answer.
const XMLNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// APIVersion is the Version every request must carry.
const APIVersion = "2015-12-01"

type xmlTime struct{ time.Time }

func (t xmlTime) MarshalText() ([]byte, error) {
	return []byte(t.UTC().Format("2006-01-02T15:04:05.000Z")), nil
}

type xmlAZ struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId,omitempty"`
}

type xmlLBState struct {
	Code   string `xml:"Code"`
	Reason string `xml:"Reason,omitempty"`
}

type xmlLoadBalancer struct {
	LoadBalancerArn       string     `xml:"LoadBalancerArn"`
	DNSName               string     `xml:"DNSName"`
	CanonicalHostedZoneID string     `xml:"CanonicalHostedZoneId"`
	CreatedTime           xmlTime    `xml:"CreatedTime"`
	LoadBalancerName      string     `xml:"LoadBalancerName"`
	Scheme                string     `xml:"Scheme"`
	VpcID                 string     `xml:"VpcId"`
	State                 xmlLBState `xml:"State"`
	Type                  string     `xml:"Type"`
	AvailabilityZones     []xmlAZ    `xml:"AvailabilityZones>member"`
	IPAddressType         string     `xml:"IpAddressType"`
}

type xmlMatcher struct {
	HTTPCode string `xml:"HttpCode"`
}

type xmlTargetGroup struct {
	TargetGroupArn             string      `xml:"TargetGroupArn"`
	TargetGroupName            string      `xml:"TargetGroupName"`
	Protocol                   string      `xml:"Protocol"`
	Port                       int32       `xml:"Port"`
	VpcID                      string      `xml:"VpcId"`
	HealthCheckProtocol        string      `xml:"HealthCheckProtocol"`
	HealthCheckPort            string      `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool        `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int32       `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int32       `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int32       `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int32       `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string      `xml:"HealthCheckPath,omitempty"`
	Matcher                    *xmlMatcher `xml:"Matcher,omitempty"`
	LoadBalancerArns           []string    `xml:"LoadBalancerArns>member"`
	TargetType                 string      `xml:"TargetType"`
	IPAddressType              string      `xml:"IpAddressType"`
}

type xmlAction struct {
	Type           string `xml:"Type"`
	TargetGroupArn string `xml:"TargetGroupArn"`
}

type xmlListener struct {
	ListenerArn     string      `xml:"ListenerArn"`
	LoadBalancerArn string      `xml:"LoadBalancerArn"`
	Port            int32       `xml:"Port"`
	Protocol        string      `xml:"Protocol"`
	DefaultActions  []xmlAction `xml:"DefaultActions>member"`
}

type xmlTarget struct {
	ID   string `xml:"Id"`
	Port int32  `xml:"Port"`
}

type xmlTargetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type xmlTargetHealthDescription struct {
	Target          xmlTarget       `xml:"Target"`
	HealthCheckPort string          `xml:"HealthCheckPort"`
	TargetHealth    xmlTargetHealth `xml:"TargetHealth"`
}

type xmlAttribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type loadBalancersResult struct {
	LoadBalancers []xmlLoadBalancer `xml:"LoadBalancers>member"`
	NextMarker    string            `xml:"NextMarker,omitempty"`
}

type targetGroupsResult struct {
	TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	NextMarker   string           `xml:"NextMarker,omitempty"`
}

type listenersResult struct {
	Listeners  []xmlListener `xml:"Listeners>member"`
	NextMarker string        `xml:"NextMarker,omitempty"`
}

type targetHealthResult struct {
	TargetHealthDescriptions []xmlTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
}

type attributesResult struct {
	Attributes []xmlAttribute `xml:"Attributes>member"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlTagDescription struct {
	ResourceArn string   `xml:"ResourceArn"`
	Tags        []xmlTag `xml:"Tags>member"`
}

type tagsResult struct {
	TagDescriptions []xmlTagDescription `xml:"TagDescriptions>member"`
}

type emptyResult struct{}

// EncodeResult is the XML answer to action: <ActionResponse><ActionResult>...</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>.
func EncodeResult(action, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: XMLNamespace}}}
	if err := enc.EncodeToken(start); err != nil {
		return nil, err
	}
	if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
		return nil, err
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeError is the XML error answer the SDKs decode: <ErrorResponse><Error><Type>Sender</Type>
// <Code/><Message/></Error><RequestId/></ErrorResponse>.
func EncodeError(code, message, requestID string) []byte {
	type xmlError struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	body := struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     xmlError `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{Xmlns: XMLNamespace, Error: xmlError{Type: "Sender", Code: code, Message: message}, RequestID: requestID}
	raw, err := xml.Marshal(body)
	if err != nil {
		return []byte("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	return raw
}
